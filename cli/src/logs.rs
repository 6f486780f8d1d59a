//! `stead pod logs`: a pod instance's output read from its sandbox through
//! `GET /v1/pods/{instance}/logs`, all of it or its last lines, and followed as it grows.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use stead::api::{LogChunk, LogStream};

use super::CliError;
use super::client::Client;

/// How often `--follow` asks for new output once it has read everything.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(500);

/// The first window `--tail` reads back from the end; doubled until it holds the lines.
const TAIL_WINDOW: u64 = 16 * 1024;

/// `stead pod logs <instance>`.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The instance (e.g. `data-2`).
    pub instance: String,
    /// Read standard error instead of standard output.
    #[arg(long)]
    pub stderr: bool,
    /// Keep reading as the output grows (until interrupted); a relaunched task is
    /// followed from its start.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only the last N lines.
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    /// The run before the current one (e.g. after a restart).
    #[arg(long)]
    pub previous: bool,
}

impl LogsArgs {
    fn stream(&self) -> LogStream {
        if self.stderr {
            LogStream::Stderr
        } else {
            LogStream::Stdout
        }
    }

    /// One read of the instance's output from `offset`.
    async fn read(&self, client: &Client, offset: i64) -> Result<LogChunk, CliError> {
        let path = format!(
            "/v1/pods/{}/logs?stream={}&offset={offset}&previous={}",
            super::segment(&self.instance),
            self.stream().as_str(),
            self.previous
        );
        client.get(&path).await?.into()
    }

    /// Writes everything from `offset` to the current end; returns the end and the task
    /// that was read.
    async fn copy_to_end(
        &self,
        client: &Client,
        mut offset: u64,
        out: &mut impl Write,
    ) -> Result<(u64, String), CliError> {
        loop {
            let chunk = self.read(client, to_offset(offset)).await?;
            if chunk.data.is_empty() {
                return Ok((offset, chunk.task_id));
            }
            out.write_all(chunk.data.as_bytes())?;
            out.flush()?;
            offset = chunk.offset + chunk.data.len() as u64;
        }
    }

    /// Where the last `lines` lines of the output start.
    async fn tail_start(&self, client: &Client, lines: usize) -> Result<u64, CliError> {
        let size = self.read(client, -1).await?.offset;
        let mut window = TAIL_WINDOW;
        loop {
            let start = size.saturating_sub(window);
            let mut text = Vec::new();
            let mut offset = start;
            while offset < size {
                let chunk = self.read(client, to_offset(offset)).await?;
                if chunk.data.is_empty() {
                    break;
                }
                offset = chunk.offset + chunk.data.len() as u64;
                text.extend_from_slice(chunk.data.as_bytes());
            }
            let text = &text[..text.len().min(usize::try_from(size - start).unwrap_or(0))];
            match last_lines_start(text, lines) {
                Some(at) => return Ok(start + at as u64),
                None if start == 0 => return Ok(0),
                None => window = window.saturating_mul(2),
            }
        }
    }
}

/// The offset as the API takes it.
fn to_offset(offset: u64) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// Where in `text` its last `lines` lines start (a last line without its newline counts),
/// or None when `text` holds fewer, so that more must be read before it.
fn last_lines_start(text: &[u8], lines: usize) -> Option<usize> {
    if lines == 0 {
        return Some(text.len());
    }
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    body.iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .nth(lines - 1)
        .map(|(at, _)| at + 1)
}

/// Runs `stead pod logs`; a reader that went away (`| head`) ends it quietly.
pub async fn run(client: &Client, args: LogsArgs) -> Result<(), CliError> {
    match print(client, &args).await {
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

async fn print(client: &Client, args: &LogsArgs) -> Result<(), CliError> {
    let mut out = std::io::stdout();
    let start = match args.tail {
        Some(lines) => args.tail_start(client, lines).await?,
        None => 0,
    };
    let (mut offset, mut task) = args.copy_to_end(client, start, &mut out).await?;
    if !args.follow {
        return Ok(());
    }
    loop {
        tokio::time::sleep(FOLLOW_INTERVAL).await;
        let chunk = args.read(client, -1).await?;
        if chunk.task_id != task {
            eprintln!("--- {} relaunched: task {}", args.instance, chunk.task_id);
            offset = 0;
        } else if chunk.offset <= offset {
            continue;
        }
        (offset, task) = args.copy_to_end(client, offset, &mut out).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_of_the_last_lines() {
        let text = b"one\ntwo\nthree\n";
        assert_eq!(last_lines_start(text, 1), Some(8));
        assert_eq!(last_lines_start(text, 2), Some(4));
        assert_eq!(last_lines_start(text, 3), None);
        assert_eq!(last_lines_start(text, 0), Some(14));
        assert_eq!(last_lines_start(b"one\ntwo", 1), Some(4));
        assert_eq!(last_lines_start(b"", 1), None);
    }
}
