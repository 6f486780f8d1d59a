//! The operator API server of one scheduler process: bound to its address, served in the
//! background, stopped with the scheduler.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::ApiArgs;
use crate::api::ServiceControl;
use crate::{Error, Result};

/// The operator API server of one scheduler; stops when stopped or dropped.
#[derive(Debug)]
pub struct ApiServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl ApiServer {
    /// Binds the API's address (`args.bind`, `port`; 0 picks a free port).
    pub async fn bind(args: &ApiArgs, port: u16) -> Result<TcpListener> {
        let addr = args.socket_addr(port);
        TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Config(format!("the operator API cannot listen on {addr}: {e}")))
    }

    /// Serves `control` on `listener` in the background.
    pub fn start(
        listener: TcpListener,
        args: &ApiArgs,
        control: Arc<dyn ServiceControl>,
    ) -> Result<ApiServer> {
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(super::serve_with_shutdown(
            listener,
            control,
            args.options(),
            async move {
                let _ = stopped.await;
            },
        ));
        let options = args.options();
        tracing::info!(
            %addr,
            token = options.token.is_some(),
            read_token = options.read_token.is_some(),
            "operator API listening"
        );
        Ok(ApiServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address the API listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting requests and waits for open ones to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the operator API failed"),
                Err(e) => tracing::warn!(error = %e, "the operator API task failed"),
            }
        }
    }
}
