//! Who holds a port, where the system tells: on Linux, the socket's inode from
//! /proc/net/{tcp,tcp6,udp,udp6}, then the process with that inode among its open
//! files. Anything unreadable (another user's process, no /proc) gives `None`.

use std::path::Path;

use crate::stack::model::Protocol;

/// "process 812 (python3)", or `None` when it cannot be found out.
pub fn of(port: u16, protocol: Protocol) -> Option<String> {
    let tables: &[&str] = match protocol {
        Protocol::Tcp => &["/proc/net/tcp", "/proc/net/tcp6"],
        Protocol::Udp => &["/proc/net/udp", "/proc/net/udp6"],
    };
    let inodes: Vec<u64> = tables
        .iter()
        .filter_map(|t| std::fs::read_to_string(t).ok())
        .flat_map(|text| socket_inodes(&text, port, protocol))
        .collect();
    let (pid, name) = process_with_socket(Path::new("/proc"), &inodes)?;
    Some(format!("process {pid} ({name})"))
}

/// Inodes of the sockets bound to `port` in a /proc/net table (listening ones for TCP).
fn socket_inodes(table: &str, port: u16, protocol: Protocol) -> Vec<u64> {
    const TCP_LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local = cols.get(1)?;
            let state = cols.get(3)?;
            let inode: u64 = cols.get(9)?.parse().ok()?;
            let (_, hex_port) = local.rsplit_once(':')?;
            let bound = u16::from_str_radix(hex_port, 16).ok()? == port;
            let listening = protocol == Protocol::Udp || *state == TCP_LISTEN;
            (bound && listening && inode != 0).then_some(inode)
        })
        .collect()
}

/// The first process under `proc` with one of `inodes` open: (pid, command name).
fn process_with_socket(proc: &Path, inodes: &[u64]) -> Option<(u32, String)> {
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    let mut pids: Vec<u32> = std::fs::read_dir(proc)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids.into_iter().find_map(|pid| {
        let dir = proc.join(pid.to_string());
        let holds = std::fs::read_dir(dir.join("fd"))
            .ok()?
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .any(|link| wanted.iter().any(|w| link.as_os_str() == w.as_str()));
        if !holds {
            return None;
        }
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        Some((pid, name.trim().to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 4343 1 0000000000000000 20 4 30 10 -1
   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn listening_sockets_of_a_port() {
        assert_eq!(socket_inodes(TCP, 8080, Protocol::Tcp), [4242]);
        assert_eq!(socket_inodes(TCP, 22, Protocol::Tcp), [99]);
        assert!(socket_inodes(TCP, 9999, Protocol::Tcp).is_empty());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_this_process_holding_a_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = of(port, Protocol::Tcp).expect("this process is found");
        assert!(
            holder.starts_with(&format!("process {} (", std::process::id())),
            "{holder}"
        );
    }
}
