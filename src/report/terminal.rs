//! The local terminal, for `pier exec`: whether stdin is one, its size, and raw
//! mode while a container's TTY is attached (restored on drop, also on error).

use std::io::IsTerminal;

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// (columns, rows) of the terminal, when there is one.
pub fn size() -> Option<(u16, u16)> {
    crossterm::terminal::size()
        .ok()
        .filter(|(c, r)| *c > 0 && *r > 0)
}

/// Raw mode for as long as this lives: keys go to the container unprocessed
/// (Ctrl-C included, so it interrupts the command there, not pier).
pub struct RawMode(());

impl RawMode {
    pub fn enable() -> std::io::Result<RawMode> {
        crossterm::terminal::enable_raw_mode()?;
        Ok(RawMode(()))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}
