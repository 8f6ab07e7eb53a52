//! Just enough HTTP/1.1 for the local Runtime API and the capacity proxy:
//! `Content-Length` and chunked bodies, keep-alive. std only, so the bench
//! adds no feature to the workspace's dependencies (and no rebuild of the SDK).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

pub struct Message {
    /// `GET /path HTTP/1.1` or `HTTP/1.1 200 OK`.
    pub start: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Writes the message with a fresh `Content-Length` (and no
    /// `Transfer-Encoding`).
    pub fn write_to(&self, out: &mut impl Write) -> io::Result<()> {
        let mut head = format!("{}\r\n", self.start);
        for (k, v) in &self.headers {
            if k.eq_ignore_ascii_case("content-length")
                || k.eq_ignore_ascii_case("transfer-encoding")
            {
                continue;
            }
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", self.body.len()));
        out.write_all(head.as_bytes())?;
        out.write_all(&self.body)?;
        out.flush()
    }
}

fn line(r: &mut BufReader<TcpStream>) -> io::Result<Option<String>> {
    let mut s = String::new();
    if r.read_line(&mut s)? == 0 {
        return Ok(None);
    }
    Ok(Some(s.trim_end_matches(['\r', '\n']).to_owned()))
}

/// Reads one message; `None` when the peer closed the connection. A message
/// without length that is not chunked has an empty body, except a response
/// with `Connection: close` (read to the end).
pub fn read_message(r: &mut BufReader<TcpStream>) -> io::Result<Option<Message>> {
    let start = loop {
        match line(r)? {
            None => return Ok(None),
            Some(s) if s.is_empty() => continue,
            Some(s) => break s,
        }
    };
    let mut headers = Vec::new();
    while let Some(l) = line(r)? {
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut msg = Message {
        start,
        headers,
        body: Vec::new(),
    };
    if let Some(len) = msg.header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad content-length"))?;
        msg.body.resize(len, 0);
        r.read_exact(&mut msg.body)?;
    } else if msg
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        loop {
            let size = line(r)?.unwrap_or_default();
            let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                while let Some(l) = line(r)? {
                    if l.is_empty() {
                        break;
                    }
                }
                break;
            }
            let at = msg.body.len();
            msg.body.resize(at + size, 0);
            r.read_exact(&mut msg.body[at..])?;
            line(r)?;
        }
    } else if msg.start.starts_with("HTTP/")
        && msg
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    {
        r.read_to_end(&mut msg.body)?;
    }
    Ok(Some(msg))
}

pub fn respond(
    out: &mut impl Write,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    Message {
        start: format!("HTTP/1.1 {status}"),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        body: body.to_vec(),
    }
    .write_to(out)
}
