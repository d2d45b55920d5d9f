//! Document paths in Compose's notation (`services.web.ports[1]`), the way every
//! diagnostic names the place of a problem and the key `positions` looks them up by.

/// `parent.key`, or `key` at the top of the document.
pub fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[index]`.
pub fn item(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// The enclosing path: `services.web.ports[1]` → `services.web.ports` → `services.web`.
pub fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_walks_up_paths() {
        let p = item(&child(&child("", "services"), "web"), 1);
        assert_eq!(p, "services.web[1]");
        assert_eq!(parent("services.web.ports[1]"), Some("services.web.ports"));
        assert_eq!(parent("services.web"), Some("services"));
        assert_eq!(parent("services"), Some(""));
        assert_eq!(parent(""), None);
    }
}
