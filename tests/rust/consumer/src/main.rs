//! Uses sdfd the way a daemon does; tests/rust/crate.sh builds it with and
//! without sdfd's `std` feature and checks what it links.

fn main() {
    let n = sdfd::listen_fds().unwrap_or(0);
    let sent = sdfd::notify_str("READY=1").unwrap_or(false);
    #[cfg(feature = "std")]
    {
        let web = sdfd::take_tcp_listener("web").ok().flatten();
        let _ = sdfd::notify(&[sdfd::NotifyState::Status("consumer")]);
        println!("fds={n} notified={sent} web={}", web.is_some());
    }
    #[cfg(not(feature = "std"))]
    println!("fds={n} notified={sent}");
}
