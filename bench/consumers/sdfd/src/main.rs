// Minimal consumer: the activated listener named "web", then READY=1.
fn main() -> std::io::Result<()> {
    let l = sdfd::take_tcp_listener("web")?;
    sdfd::notify(&[sdfd::NotifyState::Ready])?;
    println!("{}", l.is_some());
    Ok(())
}
