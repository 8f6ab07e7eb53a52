//! A small W3C WebDriver client (the commands the console's browser tests
//! use) over hyper, and chromedriver started with the machine's flags.

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver in a process group of its own, which is killed when
/// dropped: so a failing test (whose session never quits) does not leave
/// the Chromium it started behind.
pub struct Driver {
    child: Child,
    addr: SocketAddr,
    _profile: TempDir,
}

struct TempDir(std::path::PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group is the one `start` made: chromedriver and its browser.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn which(names: &[&str]) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    for n in names {
        for dir in path.split(':') {
            let p = Path::new(dir).join(n);
            if p.is_file() {
                return Some(p.to_string_lossy().into_owned());
            }
        }
    }
    None
}

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            body.map(|b| b.to_string()).unwrap_or_default(),
        )))
        .unwrap();
    let res = tx.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status();
    let bytes = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&bytes)))?;
    if !status.is_success() {
        return Err(format!("{method} {path}: {status}: {}", v["value"]));
    }
    Ok(v["value"].clone())
}

impl Driver {
    /// Starts chromedriver on a free loopback port.
    pub async fn start() -> Driver {
        let bin = std::env::var("CHROMEDRIVER")
            .ok()
            .or_else(|| which(&["chromedriver"]))
            .expect("chromedriver (scripts/bootstrap.sh with PORTGUARD_BROWSER=1 installs it)");
        let port = free_port();
        let profile =
            std::env::temp_dir().join(format!("portguard-chrome-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&profile).unwrap();
        let child = Command::new(bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while call(addr, "GET", "/status", None).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on {addr}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Driver {
            child,
            addr,
            _profile: TempDir(profile),
        }
    }

    /// A headless Chromium session (the machine's flags; a fresh profile).
    pub async fn session(&self) -> Session {
        let binary = std::env::var("CHROMIUM")
            .ok()
            .or_else(|| which(&["chromium", "chromium-browser", "google-chrome"]))
            .expect("chromium");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            &format!("--user-data-dir={}", self._profile.0.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary, "args": args}
        }}});
        let v = call(self.addr, "POST", "/session", Some(caps))
            .await
            .expect("a browser session");
        Session {
            addr: self.addr,
            id: v["sessionId"].as_str().unwrap().to_string(),
        }
    }
}

pub struct Session {
    addr: SocketAddr,
    id: String,
}

#[derive(Clone)]
pub struct Element(String);

impl Session {
    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        call(
            self.addr,
            method,
            &format!("/session/{}{path}", self.id),
            body,
        )
        .await
    }

    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .await
            .unwrap();
    }

    pub async fn window(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await
        .unwrap();
    }

    pub async fn exec(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    pub async fn exec_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let v = self
            .cmd(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await
            .ok()?;
        Some(Element(v[ELEMENT].as_str()?.to_string()))
    }

    /// The first element matching `css`, waiting up to 20 s for it.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(e) = self.try_find(css).await {
                return e;
            }
            assert!(Instant::now() < deadline, "no element {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits up to 20 s until `script` (a function body) returns a truthy value; returns it.
    pub async fn wait_for(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self.exec(script, args.clone()).await;
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the text of any `css` element contains `needle` (a page
    /// has one status region per section); returns that element's text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let script = "return [...document.querySelectorAll(arguments[0])] \
                      .map(e => e.textContent).find(t => t.includes(arguments[1])) || null;";
        match self
            .wait_for(
                &format!("{needle:?} in {css}"),
                script,
                json!([css, needle]),
            )
            .await
        {
            Value::String(s) => s,
            v => v.to_string(),
        }
    }

    pub async fn click(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/click", e.0), Some(json!({})))
            .await
            .unwrap();
    }

    pub async fn clear(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/clear", e.0), Some(json!({})))
            .await
            .unwrap();
    }

    /// Types `text` into `e` (WebDriver key codes: "\u{E007}" is Enter).
    pub async fn type_in(&self, e: &Element, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        )
        .await
        .unwrap();
    }

    pub async fn text(&self, e: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", e.0), None)
            .await
            .unwrap()
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn screenshot(&self, path: &Path) {
        let v = self.cmd("GET", "/screenshot", None).await.unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    pub async fn quit(self) {
        let _ = self.cmd("DELETE", "", None).await;
    }
}
