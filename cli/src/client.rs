//! A small client of the operator API: URLs, the bearer token, and errors worded for
//! people.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::CliError;

/// An answer of the API: its status code and JSON body.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status code.
    pub status: StatusCode,
    /// The body, parsed as JSON.
    pub body: serde_json::Value,
}

impl Answer {
    /// The body as `T`.
    pub fn into<T: DeserializeOwned>(self) -> Result<T, CliError> {
        serde_json::from_value(self.body).map_err(|e| CliError::Decode(e.to_string()))
    }
}

/// A client of one scheduler's operator API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    read_token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    /// A client of the API at `base` (e.g. `http://127.0.0.1:8080`), sending `token`
    /// with mutating requests.
    pub fn new(base: &str, token: Option<String>) -> Result<Client, CliError> {
        let base = base.trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&base).map_err(|e| CliError::Url {
            url: base.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(CliError::Url {
                url: base,
                reason: "the scheme must be http or https".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| CliError::Unreachable {
                url: base.clone(),
                reason: innermost(&e),
            })?;
        Ok(Client {
            base,
            token: token.filter(|t| !t.is_empty()),
            read_token: None,
            http,
        })
    }

    /// This client, sending `token` with reading requests (without one, reads carry the
    /// API token, which the scheduler takes for reads too).
    pub fn with_read_token(mut self, token: Option<String>) -> Client {
        self.read_token = token.filter(|t| !t.is_empty());
        self
    }

    /// The token a request with `method` carries, if any.
    fn token_for(&self, method: &Method) -> Option<&str> {
        if *method == Method::GET {
            self.read_token.as_deref().or(self.token.as_deref())
        } else {
            self.token.as_deref()
        }
    }

    /// The API's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET path`; any 2xx (and 417, which carries a plan with errors) is an answer.
    pub async fn get(&self, path: &str) -> Result<Answer, CliError> {
        self.send(Method::GET, path, &[]).await
    }

    /// `GET path` expecting plain text (metrics).
    pub async fn get_text(&self, path: &str) -> Result<String, CliError> {
        let response = self.request(Method::GET, path, &[]).await?;
        let (status, origin) = (response.status(), Origin::of(&response));
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        if !status.is_success() {
            return Err(api_error(status, &origin, &bytes));
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `POST path?query` with the token.
    pub async fn post(&self, path: &str, query: &[(&str, &str)]) -> Result<Answer, CliError> {
        self.send(Method::POST, path, query).await
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<reqwest::Response, CliError> {
        let mut url =
            reqwest::Url::parse(&format!("{}{path}", self.base)).map_err(|e| CliError::Url {
                url: self.base.clone(),
                reason: e.to_string(),
            })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self.http.request(method.clone(), url);
        if let Some(token) = self.token_for(&method) {
            request = request.bearer_auth(token);
        }
        request.send().await.map_err(|e| self.unreachable(&e))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Answer, CliError> {
        let response = self.request(method, path, query).await?;
        let (status, origin) = (response.status(), Origin::of(&response));
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        if !(status.is_success() || status == StatusCode::EXPECTATION_FAILED) {
            return Err(api_error(status, &origin, &bytes));
        }
        if !origin.is_json() {
            return Err(origin.not_stead(status));
        }
        let body =
            serde_json::from_slice(&bytes).map_err(|e| CliError::Decode(format!("{path}: {e}")))?;
        Ok(Answer { status, body })
    }

    fn unreachable(&self, e: &reqwest::Error) -> CliError {
        CliError::Unreachable {
            url: self.base.clone(),
            reason: innermost(e),
        }
    }
}

/// Where an answer came from: its URL and content type.
struct Origin {
    url: String,
    content_type: Option<String>,
}

impl Origin {
    fn of(response: &reqwest::Response) -> Origin {
        Origin {
            url: response.url().to_string(),
            content_type: response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(String::from),
        }
    }

    /// Whether the answer says it is JSON (`application/json`, `...+json`).
    fn is_json(&self) -> bool {
        self.content_type.as_deref().is_some_and(|t| {
            let essence = t.split(';').next().unwrap_or("").trim();
            essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
        })
    }

    /// The one-line error for an answer that is not the Stead API's.
    fn not_stead(&self, status: StatusCode) -> CliError {
        let content_type = self
            .content_type
            .as_deref()
            .and_then(|t| t.split(';').next())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("no content type");
        CliError::NotStead {
            status: status.as_u16(),
            url: self.url.clone(),
            content_type: content_type.to_string(),
        }
    }
}

/// The error an API answer with a failure status stands for: the API's message, or one
/// line saying what answered instead (an HTML page is never printed).
fn api_error(status: StatusCode, origin: &Origin, body: &[u8]) -> CliError {
    if status == StatusCode::UNAUTHORIZED {
        return CliError::Unauthorized;
    }
    let message = origin
        .is_json()
        .then(|| serde_json::from_slice::<serde_json::Value>(body).ok())
        .flatten()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from));
    match message {
        Some(message) => CliError::Api {
            status: status.as_u16(),
            message,
        },
        None => origin.not_stead(status),
    }
}

/// The most specific cause in an error's chain (e.g. `Connection refused`).
fn innermost(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if e.is_timeout() && !text.contains("timed out") {
        format!("timed out ({text})")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_are_not_the_api_s_json_are_one_line() {
        let origin = |content_type: Option<&str>| Origin {
            url: "http://h:1/v1/plans".into(),
            content_type: content_type.map(String::from),
        };
        let html = origin(Some("text/html; charset=utf-8"));
        let err = api_error(
            StatusCode::NOT_FOUND,
            &html,
            b"<html><body>Not Found</body></html>",
        );
        assert_eq!(
            err.to_string(),
            "HTTP 404 from http://h:1/v1/plans: not a Stead API (text/html)"
        );
        let err = api_error(StatusCode::BAD_GATEWAY, &origin(None), b"");
        assert_eq!(
            err.to_string(),
            "HTTP 502 from http://h:1/v1/plans: not a Stead API (no content type)"
        );
        let json = origin(Some("application/json"));
        let err = api_error(
            StatusCode::NOT_FOUND,
            &json,
            br#"{"message":"plan \"x\" not found"}"#,
        );
        assert_eq!(err.to_string(), "plan \"x\" not found (404)");
        let err = api_error(StatusCode::NOT_FOUND, &json, b"{}");
        assert!(
            matches!(err, CliError::NotStead { status: 404, .. }),
            "{err}"
        );
        assert!(matches!(
            api_error(StatusCode::UNAUTHORIZED, &html, b""),
            CliError::Unauthorized
        ));
    }

    #[test]
    fn reads_carry_the_read_token_or_else_the_api_token() {
        let client = Client::new("http://127.0.0.1:1", Some("writer".into())).unwrap();
        assert_eq!(client.token_for(&Method::GET), Some("writer"));
        assert_eq!(client.token_for(&Method::POST), Some("writer"));
        let client = client.with_read_token(Some("reader".into()));
        assert_eq!(client.token_for(&Method::GET), Some("reader"));
        assert_eq!(client.token_for(&Method::POST), Some("writer"));
        let client = Client::new("http://127.0.0.1:1", None)
            .unwrap()
            .with_read_token(Some(String::new()));
        assert_eq!(client.token_for(&Method::GET), None);
    }
}
