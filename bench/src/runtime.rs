//! A minimal Lambda Runtime API on 127.0.0.1 (one per function process),
//! and the process it serves.
//!
//! It answers `GET /2018-06-01/runtime/invocation/next` with the next event
//! (blocking until there is one), with a real future deadline in
//! `Lambda-Runtime-Deadline-Ms`, and takes `.../{id}/response`,
//! `.../{id}/error` and `/runtime/init/error`. Times are taken where the
//! server sees the request, so init is "process spawned → first poll" and an
//! invocation is "event handed over → response received", the same points
//! Lambda's own `Init Duration` and `Duration` start and stop.

use crate::http::{read_message, respond};
use serde_json::Value;
use std::io::BufReader;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Invocation {
    id: String,
    body: Vec<u8>,
}

pub struct Outcome {
    pub ok: bool,
    pub body: Value,
    at: Instant,
}

enum Event {
    FirstPoll(Instant),
    Done(Outcome),
    InitError(String),
}

struct Shared {
    next: Mutex<Receiver<Invocation>>,
    events: Mutex<Sender<Event>>,
    polled: AtomicBool,
    function: String,
}

/// A function process and its Runtime API.
pub struct Function {
    pub name: String,
    child: Child,
    spawned: Instant,
    addr: SocketAddr,
    next: Option<Sender<Invocation>>,
    events: Receiver<Event>,
    stop: Arc<AtomicBool>,
    pub init: Option<Duration>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
}

fn serve(shared: Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut out = match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(req)) = read_message(&mut reader) {
        let mut parts = req.start.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let events = shared.events.lock().expect("events").clone();
        let accepted = |out: &mut TcpStream| {
            respond(
                out,
                "202 Accepted",
                &[("content-type", "application/json".into())],
                br#"{"status":"OK"}"#,
            )
        };
        let result = if method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            if !shared.polled.swap(true, Ordering::SeqCst) {
                let _ = events.send(Event::FirstPoll(Instant::now()));
            }
            let inv = shared.next.lock().expect("next").recv();
            let Ok(inv) = inv else { return };
            let deadline = now_ms() + 60_000;
            respond(
                &mut out,
                "200 OK",
                &[
                    ("content-type", "application/json".into()),
                    ("lambda-runtime-aws-request-id", inv.id.clone()),
                    ("lambda-runtime-deadline-ms", deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn",
                        format!(
                            "arn:aws:lambda:us-east-1:123456789012:function:{}",
                            shared.function
                        ),
                    ),
                    (
                        "lambda-runtime-trace-id",
                        format!("Root=1-00000000-{};Sampled=0", &inv.id[..24]),
                    ),
                ],
                &inv.body,
            )
        } else if method == "POST" && path.starts_with("/2018-06-01/runtime/invocation/") {
            let at = Instant::now();
            let ok = path.ends_with("/response");
            let body = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let _ = events.send(Event::Done(Outcome { ok, body, at }));
            accepted(&mut out)
        } else if method == "POST" && path == "/2018-06-01/runtime/init/error" {
            let _ = events.send(Event::InitError(
                String::from_utf8_lossy(&req.body).into_owned(),
            ));
            accepted(&mut out)
        } else {
            respond(&mut out, "404 Not Found", &[], b"{}")
        };
        if result.is_err() {
            return;
        }
    }
}

impl Function {
    /// Starts a Runtime API on a free loopback port and spawns `binary` with
    /// `env` (and nothing else from the driver's environment), logs to `log`.
    pub fn spawn(name: &str, binary: &Path, env: &[(String, String)], log: &Path) -> Function {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (next_tx, next_rx) = channel();
        let (ev_tx, ev_rx) = channel();
        let shared = Arc::new(Shared {
            next: Mutex::new(next_rx),
            events: Mutex::new(ev_tx),
            polled: AtomicBool::new(false),
            function: name.to_owned(),
        });
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (shared, stop) = (shared.clone(), stop.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    if let Ok(stream) = stream {
                        let shared = shared.clone();
                        thread::spawn(move || serve(shared, stream));
                    }
                }
            });
        }
        let logfile = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("open function log");
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .stdin(Stdio::null())
            .stdout(logfile.try_clone().expect("log"))
            .stderr(logfile);
        let spawned = Instant::now();
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
        Function {
            name: name.to_owned(),
            child,
            spawned,
            addr,
            next: Some(next_tx),
            events: ev_rx,
            stop,
            init: None,
        }
    }

    fn event(&mut self, timeout: Duration) -> Result<Event, String> {
        let until = Instant::now() + timeout;
        loop {
            match self.events.recv_timeout(Duration::from_millis(20)) {
                Ok(e) => return Ok(e),
                Err(RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        return Err(format!("{} exited ({status}); see its log", self.name));
                    }
                    if Instant::now() > until {
                        return Err(format!("{}: no answer within {timeout:?}", self.name));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return Err("runtime API gone".into()),
            }
        }
    }

    /// Waits for the first `/next` poll: the end of init.
    pub fn wait_ready(&mut self) -> Result<Duration, String> {
        match self.event(Duration::from_secs(30))? {
            Event::FirstPoll(at) => {
                let init = at - self.spawned;
                self.init = Some(init);
                Ok(init)
            }
            Event::InitError(e) => Err(format!("{}: init error {e}", self.name)),
            Event::Done(_) => Err("response before any poll".into()),
        }
    }

    /// One invocation, timed from handing the event over to the response.
    pub fn invoke(&mut self, payload: &Value) -> Result<(Duration, Outcome), String> {
        let id = ulid::Ulid::new().to_string().to_lowercase();
        let body = serde_json::to_vec(payload).expect("serialisable");
        let sent = Instant::now();
        self.next
            .as_ref()
            .expect("running")
            .send(Invocation { id, body })
            .map_err(|_| "runtime API closed".to_string())?;
        loop {
            match self.event(Duration::from_secs(60))? {
                Event::Done(o) => return Ok((o.at - sent, o)),
                Event::FirstPoll(_) => continue,
                Event::InitError(e) => return Err(format!("{}: init error {e}", self.name)),
            }
        }
    }

    /// Peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Kills the process (this one only, by its handle) and the server.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.next.take();
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}
