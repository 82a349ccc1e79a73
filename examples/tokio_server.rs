//! The same HTTP server as `std_server`, on tokio: the activated socket
//! (named `web`) or 127.0.0.1:8080 is taken as a std `TcpListener` and
//! handed to tokio.
//!
//! ```sh
//! cargo build --example tokio_server
//! systemd-socket-activate -l 127.0.0.1:8080 --fdname=web target/debug/examples/tokio_server
//! curl http://127.0.0.1:8080/
//! ```
//!
//! Its first argument, if any, replaces the fallback address.

#![cfg_attr(not(unix), allow(unused_imports))]

use sdfd::NotifyState;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[cfg(unix)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let fallback = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8080".into());
    let activated = sdfd::take_tcp_listener("web")?;
    let how = if activated.is_some() { "socket-activated" } else { "bound itself" };
    let std_listener = match activated {
        Some(l) => l,
        None => std::net::TcpListener::bind(&fallback)?,
    };
    std_listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(std_listener)?;
    eprintln!("tokio_server: {how}, listening on {}", listener.local_addr()?);
    sdfd::notify(&[NotifyState::Ready, NotifyState::Status(how)])?;
    loop {
        let (conn, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = serve(conn, how).await {
                eprintln!("tokio_server: {e}");
            }
        });
    }
}

#[cfg(unix)]
async fn serve(conn: tokio::net::TcpStream, how: &str) -> std::io::Result<()> {
    let (rd, mut wr) = conn.into_split();
    let mut reader = BufReader::new(rd);
    let mut line = String::new();
    while reader.read_line(&mut line).await? > 0 && line != "\r\n" && line != "\n" {
        line.clear();
    }
    let body = format!("hello from tokio_server ({how})\n");
    let reply = format!("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    wr.write_all(reply.as_bytes()).await
}

/// The typed socket API is Unix-only (Windows programs use
/// `sdfd::listen_socket`).
#[cfg(not(unix))]
fn main() {
    eprintln!("tokio_server: Unix only");
}
