//! The loopback webhook receiver of the notifier phase: a plain HTTP/1.1
//! server (stunnel terminates TLS in front of it, so the notifier and its
//! floor both speak HTTPS to it) that acknowledges every POST at once with
//! `200` and notes when it did, by `webhook-id`; and a dead endpoint that
//! accepts connections and never answers.

use crate::http::{read_message, respond};
use std::collections::HashMap;
use std::io::BufReader;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
pub struct Receiver {
    acks: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Receiver {
    /// Listens on `addr` (a loopback address) until the driver exits.
    pub fn start(addr: &str) -> Receiver {
        let listener =
            TcpListener::bind(addr).unwrap_or_else(|e| panic!("receiver on {addr}: {e}"));
        let r = Receiver::default();
        let acks = r.acks.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let acks = acks.clone();
                thread::spawn(move || serve(stream, &acks));
            }
        });
        r
    }

    /// When each of `ids` was acknowledged, waiting up to `wait` for all.
    pub fn acks(&self, ids: &[String], wait: Duration) -> Vec<Option<Instant>> {
        let until = Instant::now() + wait;
        loop {
            let got: Vec<Option<Instant>> = {
                let acks = self.acks.lock().expect("acks");
                ids.iter().map(|id| acks.get(id).copied()).collect()
            };
            if got.iter().all(Option::is_some) || Instant::now() > until {
                return got;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

fn serve(stream: TcpStream, acks: &Mutex<HashMap<String, Instant>>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(req)) = read_message(&mut reader) {
        let id = req.header("webhook-id").unwrap_or_default().to_owned();
        if respond(&mut out, "200 OK", &[], b"").is_err() {
            return;
        }
        acks.lock()
            .expect("acks")
            .entry(id)
            .or_insert_with(Instant::now);
    }
}

/// A listener that accepts and holds every connection without a byte in
/// either direction: an endpoint that never answers. Returns its port.
pub fn dead_endpoint() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("addr").port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}
