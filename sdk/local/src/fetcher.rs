//! The URI fetcher: downloads (http, https) or copies (file://, plain paths) a task's URIs
//! into its sandbox and extracts archives (zip, tar, tar.gz/tgz), as Mesos's fetcher does.

use std::path::{Path, PathBuf};

use std::time::Duration;

/// One URI to fetch (the fields of Mesos's `CommandInfo.URI` that matter here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchUri {
    /// The URI: `http://`, `https://`, `file://` or a plain absolute path.
    pub value: String,
    /// Make the fetched file executable (0755) and do not extract it.
    pub executable: bool,
    /// Extract a recognised archive into the sandbox (Mesos's default is true).
    pub extract: bool,
    /// The file name to write in the sandbox instead of the URI's base name.
    pub output_file: Option<String>,
}

/// A failed fetch; its message names the URI and the cause.
#[derive(Debug, thiserror::Error)]
#[error("Failed to fetch '{uri}': {cause}")]
pub struct FetchError {
    /// The URI that failed.
    pub uri: String,
    /// What went wrong.
    pub cause: String,
}

fn fail(uri: &str, cause: impl std::fmt::Display) -> FetchError {
    FetchError {
        uri: uri.to_string(),
        cause: cause.to_string(),
    }
}

/// The fetcher's HTTP(S) client (rustls with the ring provider, redirects followed).
pub type HttpClient = ureq::Agent;

/// A new HTTP(S) client for the fetcher.
pub fn http_client() -> HttpClient {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .max_redirects(10)
        .build()
        .into()
}

/// The archive kinds the fetcher extracts, recognised by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Archive {
    Zip,
    Tar,
    TarGz,
}

fn archive_kind(name: &str) -> Option<Archive> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        Some(Archive::Zip)
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Some(Archive::TarGz)
    } else if lower.ends_with(".tar") {
        Some(Archive::Tar)
    } else {
        None
    }
}

/// The base name of a URI's path (query and fragment ignored).
fn base_name(uri: &str) -> Option<String> {
    let without_scheme = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let path = without_scheme
        .split(['?', '#'])
        .next()
        .unwrap_or(without_scheme);
    let name = path.rsplit('/').next()?;
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_string())
}

/// Fetches every URI into `sandbox`, in order; stops at the first failure.
pub async fn fetch_all(
    client: &HttpClient,
    uris: &[FetchUri],
    sandbox: &Path,
) -> Result<(), FetchError> {
    for uri in uris {
        fetch_one(client, uri, sandbox).await?;
    }
    Ok(())
}

/// Fetches one URI into `sandbox`, then applies its `executable` / `extract` flags.
pub async fn fetch_one(
    client: &HttpClient,
    uri: &FetchUri,
    sandbox: &Path,
) -> Result<PathBuf, FetchError> {
    let v = uri.value.as_str();
    let name = match &uri.output_file {
        Some(f) => f.clone(),
        None => base_name(v).ok_or_else(|| fail(v, "the URI has no file name"))?,
    };
    if Path::new(&name)
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(fail(
            v,
            format!("output file '{name}' must be a relative path without '..'"),
        ));
    }
    let dest = sandbox.join(&name);
    if let Some(parent) = dest.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| fail(v, e))?;
    }
    if v.starts_with("http://") || v.starts_with("https://") {
        download(client, v, &dest).await?;
    } else if let Some(path) = v.strip_prefix("file://") {
        copy_local(v, Path::new(path), &dest).await?;
    } else if v.starts_with('/') {
        copy_local(v, Path::new(v), &dest).await?;
    } else {
        return Err(fail(
            v,
            "unsupported URI scheme (http, https, file and absolute paths are supported)",
        ));
    }
    if uri.executable {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))
            .await
            .map_err(|e| fail(v, format!("cannot make it executable: {e}")))?;
    } else if uri.extract
        && let Some(kind) = archive_kind(&name)
    {
        let archive = dest.clone();
        let target = sandbox.to_path_buf();
        tokio::task::spawn_blocking(move || extract(kind, &archive, &target))
            .await
            .map_err(|e| fail(v, e))?
            .map_err(|e| fail(v, format!("cannot extract the archive: {e}")))?;
    }
    Ok(dest)
}

async fn download(client: &HttpClient, uri: &str, dest: &Path) -> Result<(), FetchError> {
    let client = client.clone();
    let (u, d) = (uri.to_string(), dest.to_path_buf());
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let response = client.get(&u).call().map_err(|e| e.to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("HTTP status {status}"));
        }
        let mut file = std::fs::File::create(&d).map_err(|e| e.to_string())?;
        let mut body = response.into_body().into_reader();
        std::io::copy(&mut body, &mut file).map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| fail(uri, e))?
    .map_err(|e| fail(uri, e))
}

async fn copy_local(uri: &str, src: &Path, dest: &Path) -> Result<(), FetchError> {
    tokio::fs::copy(src, dest)
        .await
        .map(|_| ())
        .map_err(|e| fail(uri, format!("cannot copy {}: {e}", src.display())))
}

fn extract(kind: Archive, archive: &Path, target: &Path) -> Result<(), String> {
    let file = std::fs::File::open(archive).map_err(|e| e.to_string())?;
    match kind {
        Archive::Zip => {
            let mut zip = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
            zip.extract(target).map_err(|e| e.to_string())
        }
        Archive::Tar => tar::Archive::new(file)
            .unpack(target)
            .map_err(|e| e.to_string()),
        Archive::TarGz => tar::Archive::new(flate2::read::GzDecoder::new(file))
            .unpack(target)
            .map_err(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names() {
        assert_eq!(base_name("http://h/a/b.zip?x=1").as_deref(), Some("b.zip"));
        assert_eq!(base_name("file:///tmp/x.tgz").as_deref(), Some("x.tgz"));
        assert_eq!(base_name("http://h/"), None);
        assert_eq!(archive_kind("A.TAR.GZ"), Some(Archive::TarGz));
        assert_eq!(archive_kind("a.txt"), None);
    }
}
