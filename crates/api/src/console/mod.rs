//! The operator's console, `/console/` on the API listener: server-rendered pages, no script.
//! With keys configured it asks for a SecretId and SecretKey from the key ring, then keeps a
//! session cookie sealed with that key's secret (nothing stored: rotating the key ends its
//! sessions); every page and form checks the key's CAM actions, every form a CSRF token.
// A page's `Err` is the refusal page itself, answered at once: its size does not matter.
#![allow(clippy::result_large_err)]

mod actions;
mod evidence;
mod hex;
mod html;
mod jobs;
mod overview;
mod triggers;

use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::auth::AccessKey;
use crate::sts::{seal, sealed};
use crate::AppState;
use html::escape;

pub const CONSOLE_PREFIX: &str = "/console";
const COOKIE_NAME: &str = "stowaway_console";
/// A working day; then sign in again.
const SESSION_SECS: i64 = 8 * 3600;

pub fn router() -> Router<AppState> {
    console_routes().layer(axum::middleware::from_fn(same_origin))
}

/// A state change (every POST) from another site is refused: browsers name the page a form was
/// sent from in `Origin`, which must be this host. The CSRF token covers the session's forms;
/// this also covers signing in (a page elsewhere signing the operator into its own key).
async fn same_origin(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let foreign = request.method() == axum::http::Method::POST
        && request.headers().get(axum::http::header::ORIGIN).is_some_and(|origin| {
            let origin = origin.to_str().unwrap_or("");
            // Behind a proxy that rewrites Host, the one the browser used is X-Forwarded-Host.
            let host = ["x-forwarded-host", "host"]
                .iter()
                .find_map(|name| request.headers().get(*name))
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            origin.split_once("://").map(|(_, authority)| authority) != Some(host)
        });
    match foreign {
        true => html::refusal(StatusCode::FORBIDDEN, "This form was sent from another site."),
        false => next.run(request).await,
    }
}

fn console_routes() -> Router<AppState> {
    Router::new()
        .route("/console/style.css", get(html::stylesheet))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .merge(jobs::router())
        .merge(overview::router())
        .merge(triggers::router())
        .merge(actions::router())
}

/// A session: which key, until when.
#[derive(Serialize, Deserialize)]
struct Session {
    #[serde(rename = "p")]
    secret_id: String,
    #[serde(rename = "e")]
    expires: i64,
    /// Makes each session's CSRF token its own.
    #[serde(rename = "n")]
    nonce: String,
}

/// Who is looking: the signed-in key, or everyone when authentication is off.
pub struct Viewer {
    key: Option<AccessKey>,
    csrf: String,
}

impl Viewer {
    pub fn secret_id(&self) -> Option<&str> {
        self.key.as_ref().map(|k| k.secret_id.as_str())
    }

    pub fn may(&self, action: &str, bucket: Option<&str>) -> bool {
        self.key.as_ref().is_none_or(|k| k.allows(action, bucket))
    }

    /// A refusal page unless the key may perform `action` on `bucket`.
    pub fn require(&self, action: &str, bucket: &str) -> Result<(), Response> {
        match self.may(action, Some(bucket)) {
            true => Ok(()),
            false => Err(self.refused(&format!("This key may not perform {action} on {bucket}."))),
        }
    }

    /// A posted form's checks: its CSRF token, then the key's permission for `action` on `bucket`.
    pub fn check_form(&self, csrf: &str, action: &str, bucket: &str) -> Result<(), Response> {
        match self.csrf_ok(csrf) {
            true => self.require(action, bucket),
            false => Err(self.refused("The form expired; reload the page.")),
        }
    }

    pub fn refused(&self, why: &str) -> Response {
        let body = format!("<h1>Not allowed</h1><p class=\"error\">{}</p>", escape(why));
        (StatusCode::FORBIDDEN, self.page("Not allowed", &body)).into_response()
    }

    pub fn page(&self, title: &str, body: &str) -> Response {
        html::page(title, self.secret_id(), &self.csrf, body)
    }

    /// The hidden field every form of the session carries.
    pub fn csrf_field(&self) -> String {
        format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(&self.csrf))
    }

    /// Whether a form's token is this session's (always, with authentication off).
    pub fn csrf_ok(&self, given: &str) -> bool {
        self.key.is_none()
            || (given.len() == self.csrf.len() && given.bytes().zip(self.csrf.bytes()).all(|(a, b)| a == b))
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Viewer, Response> {
        let Some(keys) = &app.config.keys else {
            return Ok(Viewer { key: None, csrf: String::new() });
        };
        let now = chrono::Utc::now().timestamp();
        let session = cookie(&parts.headers).and_then(|value| {
            let (body, mark) = value.split_once('.')?;
            let session: Session = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
            let key = keys.key(&session.secret_id)?;
            (sealed(&key.secret_key, "console", body, mark) && now < session.expires)
                .then(|| Viewer { key: Some(key.clone()), csrf: seal(&key.secret_key, "csrf", body) })
        });
        session.ok_or_else(|| Redirect::to("/console/login").into_response())
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (name, value) = c.trim().split_once('=')?;
        (name == COOKIE_NAME).then(|| value.to_string())
    })
}

fn login_page(error: Option<&str>) -> Response {
    let error = error.map(|e| format!("<p class=\"error\">{}</p>", escape(e))).unwrap_or_default();
    let body = format!(
        "<form method=\"post\" action=\"/console/login\" class=\"login\"><h1>Sign in</h1>{error}\
         <label>SecretId<input name=\"secret_id\" autocomplete=\"username\" required></label>\
         <label>SecretKey<input name=\"secret_key\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button>Sign in</button></form>"
    );
    html::page("Sign in", None, "", &body)
}

async fn login_form(State(app): State<AppState>) -> Response {
    match app.config.keys {
        Some(_) => login_page(None),
        None => Redirect::to("/console/jobs").into_response(),
    }
}

#[derive(Deserialize)]
struct Credentials {
    secret_id: String,
    secret_key: String,
}

async fn login(State(app): State<AppState>, headers: HeaderMap, Form(c): Form<Credentials>) -> Response {
    let Some(keys) = &app.config.keys else { return Redirect::to("/console/jobs").into_response() };
    let key = keys.key(c.secret_id.trim()).filter(|k| {
        // Compared whole, in constant time: the time taken says nothing about the key.
        k.secret_key.len() == c.secret_key.len()
            && k.secret_key.bytes().zip(c.secret_key.bytes()).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0
    });
    let Some(key) = key else {
        tracing::info!(secret_id = %c.secret_id, "console sign-in refused");
        // Slows guessing without keeping any state about who guessed.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        let page = login_page(Some("Unknown SecretId or wrong SecretKey."));
        return (StatusCode::FORBIDDEN, page).into_response();
    };
    let session = Session {
        secret_id: key.secret_id.clone(),
        expires: chrono::Utc::now().timestamp() + SESSION_SECS,
        nonce: uuid::Uuid::new_v4().simple().to_string(),
    };
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&session).expect("plain data"));
    let value = format!("{body}.{}", seal(&key.secret_key, "console", &body));
    // Behind a TLS-terminating proxy the cookie must not travel in clear.
    let secure =
        headers.get("x-forwarded-proto").is_some_and(|p| p.as_bytes().eq_ignore_ascii_case(b"https"));
    let cookie = format!(
        "{COOKIE_NAME}={value}; Path={CONSOLE_PREFIX}; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{}",
        if secure { "; Secure" } else { "" }
    );
    tracing::info!(secret_id = %key.secret_id, "console sign-in");
    ([(SET_COOKIE, cookie)], Redirect::to("/console/")).into_response()
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

async fn logout(viewer: Viewer, Form(form): Form<CsrfForm>) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return viewer.refused("The form expired; reload the page.");
    }
    let clear = format!("{COOKIE_NAME}=; Path={CONSOLE_PREFIX}; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(SET_COOKIE, clear)], Redirect::to("/console/login")).into_response()
}
