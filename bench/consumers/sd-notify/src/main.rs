// Minimal consumer: READY=1.
fn main() -> std::io::Result<()> {
    sd_notify::notify(&[sd_notify::NotifyState::Ready])?;
    Ok(())
}
