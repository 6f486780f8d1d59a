//! The fetcher against a local HTTP server and local files: archives, flags and failures.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use stead_local::fetcher::{FetchUri, fetch_all, http_client};

fn uri(value: String) -> FetchUri {
    FetchUri {
        value,
        executable: false,
        extract: true,
        output_file: None,
    }
}

fn make_zip(path: &Path) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    w.start_file("bin/run.sh", opts).unwrap();
    w.write_all(b"#!/bin/sh\necho zipped\n").unwrap();
    w.finish().unwrap();
}

fn make_tar(path: &Path, gz: bool) {
    let file = std::fs::File::create(path).unwrap();
    let writer: Box<dyn Write> = if gz {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::fast(),
        ))
    } else {
        Box::new(file)
    };
    let mut b = tar::Builder::new(writer);
    let data = b"from tar\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "dir/data.txt", &data[..]).unwrap();
    b.into_inner().unwrap().flush().unwrap();
}

async fn serve(dir: std::path::PathBuf) -> String {
    use axum::extract::Path as AxPath;
    use axum::http::StatusCode;
    let app = axum::Router::new().route(
        "/files/{name}",
        axum::routing::get(move |AxPath(name): AxPath<String>| {
            let dir = dir.clone();
            async move {
                match std::fs::read(dir.join(name)) {
                    Ok(b) => Ok(b),
                    Err(_) => Err(StatusCode::NOT_FOUND),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/files")
}

#[tokio::test]
async fn fetches_and_extracts_zip_tar_and_tgz_over_http_and_file() {
    let src = tempfile::tempdir().unwrap();
    make_zip(&src.path().join("app.zip"));
    make_tar(&src.path().join("plain.tar"), false);
    make_tar(&src.path().join("comp.tar.gz"), true);
    std::fs::write(src.path().join("tool"), "#!/bin/sh\necho tool\n").unwrap();
    std::fs::write(src.path().join("raw.zip"), "not really a zip").unwrap();
    let base = serve(src.path().to_path_buf()).await;
    let sandbox = tempfile::tempdir().unwrap();
    let client = http_client();
    let mut tool = uri(format!("{base}/tool"));
    tool.executable = true;
    let mut raw = uri(format!("file://{}", src.path().join("raw.zip").display()));
    raw.extract = false;
    let mut renamed = uri(src.path().join("plain.tar").display().to_string());
    renamed.output_file = Some("renamed.bin".into());
    renamed.extract = true;
    fetch_all(
        &client,
        &[
            uri(format!("{base}/app.zip")),
            uri(format!("file://{}", src.path().join("plain.tar").display())),
            uri(format!("{base}/comp.tar.gz")),
            tool,
            raw,
            renamed,
        ],
        sandbox.path(),
    )
    .await
    .unwrap();
    let s = sandbox.path();
    assert_eq!(
        std::fs::read_to_string(s.join("bin/run.sh")).unwrap(),
        "#!/bin/sh\necho zipped\n"
    );
    assert_eq!(
        std::fs::metadata(s.join("bin/run.sh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o111,
        0o111
    );
    assert_eq!(
        std::fs::read_to_string(s.join("dir/data.txt")).unwrap(),
        "from tar\n"
    );
    assert!(s.join("app.zip").exists() && s.join("comp.tar.gz").exists());
    assert_eq!(
        std::fs::metadata(s.join("tool"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );
    assert_eq!(
        std::fs::read_to_string(s.join("raw.zip")).unwrap(),
        "not really a zip"
    );
    assert!(s.join("renamed.bin").exists());
}

#[tokio::test]
async fn failures_name_the_uri_and_the_cause() {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("bad.zip"), "garbage").unwrap();
    let base = serve(src.path().to_path_buf()).await;
    let sandbox = tempfile::tempdir().unwrap();
    let client = http_client();

    let missing = format!("{base}/missing.tgz");
    let err = fetch_all(&client, &[uri(missing.clone())], sandbox.path())
        .await
        .unwrap_err();
    assert_eq!(err.uri, missing);
    assert!(err.to_string().contains("404"), "{err}");
    assert!(err.to_string().contains(&missing), "{err}");

    let bad = format!("{base}/bad.zip");
    let err = fetch_all(&client, &[uri(bad.clone())], sandbox.path())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("extract"), "{err}");

    let err = fetch_all(
        &client,
        &[uri("file:///nonexistent/stead/x.tar".into())],
        sandbox.path(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/stead/x.tar"),
        "{err}"
    );

    // https goes through TLS; an unreachable endpoint is reported with the URI.
    let err = fetch_all(
        &client,
        &[uri("https://127.0.0.1:1/pkg.tgz".into())],
        sandbox.path(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("https://127.0.0.1:1/pkg.tgz"),
        "{err}"
    );

    let err = fetch_all(&client, &[uri("ftp://h/x".into())], sandbox.path())
        .await
        .unwrap_err();
    assert!(err.cause.contains("unsupported"), "{err}");
}
