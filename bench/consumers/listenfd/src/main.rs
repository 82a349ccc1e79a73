// Minimal consumer: the first activated listener.
fn main() -> std::io::Result<()> {
    let l = listenfd::ListenFd::from_env().take_tcp_listener(0)?;
    println!("{}", l.is_some());
    Ok(())
}
