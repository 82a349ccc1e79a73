//! A minimal HTTP server that takes its listening socket from socket
//! activation (the socket named `web`), or binds 127.0.0.1:8080 itself when
//! started by hand:
//!
//! ```sh
//! cargo build --example std_server
//! systemd-socket-activate -l 127.0.0.1:8080 --fdname=web target/debug/examples/std_server
//! curl http://127.0.0.1:8080/
//! ```
//!
//! Its first argument, if any, replaces the fallback address.

#![cfg_attr(not(unix), allow(unused_imports))]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use sdfd::NotifyState;

#[cfg(unix)]
fn main() -> std::io::Result<()> {
    let fallback = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    let activated = sdfd::take_tcp_listener("web")?;
    let how = if activated.is_some() { "socket-activated" } else { "bound itself" };
    let listener = match activated {
        Some(l) => l,
        None => std::net::TcpListener::bind(&fallback)?,
    };
    eprintln!("std_server: {how}, listening on {}", listener.local_addr()?);
    sdfd::notify(&[NotifyState::Ready, NotifyState::Status(how)])?;
    for conn in listener.incoming() {
        if let Err(e) = conn.and_then(|c| serve(c, how)) {
            eprintln!("std_server: {e}");
        }
    }
    Ok(())
}

#[cfg(unix)]
fn serve(mut conn: TcpStream, how: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    // The request line and headers, up to the blank line.
    while reader.read_line(&mut line)? > 0 && line != "\r\n" && line != "\n" {
        line.clear();
    }
    let body = format!("hello from std_server ({how})\n");
    write!(conn, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

/// The typed socket API is Unix-only (Windows programs use
/// `sdfd::listen_socket`).
#[cfg(not(unix))]
fn main() {
    eprintln!("std_server: Unix only");
}
