//! Adding up the engine's per-layer pull messages into one figure per image:
//! bytes downloaded of bytes known, layers done of layers seen.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Layer {
    downloaded: u64,
    size: Option<u64>,
    done: bool,
}

/// The layers of one image pull, as far as its messages told so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullTally {
    layers: BTreeMap<String, Layer>,
}

impl PullTally {
    /// Take one message in. Messages without a layer ("Pulling from …", "Digest: …")
    /// and the tag line (whose id is the tag, not a layer) change nothing.
    pub fn update(
        &mut self,
        layer: Option<&str>,
        status: &str,
        current: Option<u64>,
        total: Option<u64>,
    ) {
        let Some(id) = layer else { return };
        let known = self.layers.contains_key(id);
        let is_layer_status = matches!(
            status,
            "Pulling fs layer"
                | "Waiting"
                | "Already exists"
                | "Downloading"
                | "Verifying Checksum"
                | "Download complete"
                | "Extracting"
                | "Pull complete"
        );
        if !known && !is_layer_status {
            return;
        }
        let l = self.layers.entry(id.to_string()).or_default();
        match status {
            "Downloading" => {
                if let Some(c) = current {
                    l.downloaded = c;
                }
                if total.is_some() {
                    l.size = total;
                }
            }
            // The download is whole; extracting reports the same size again.
            "Download complete" | "Extracting" => {
                if l.size.is_none() {
                    l.size = total;
                }
                l.downloaded = l.size.unwrap_or(l.downloaded);
            }
            "Pull complete" | "Already exists" => {
                l.done = true;
                l.downloaded = l.size.unwrap_or(l.downloaded);
            }
            _ => {}
        }
    }

    /// Bytes downloaded so far, over all layers.
    pub fn downloaded(&self) -> u64 {
        self.layers.values().map(|l| l.downloaded).sum()
    }

    /// Bytes of the layers whose size is known yet.
    pub fn size(&self) -> u64 {
        self.layers.values().filter_map(|l| l.size).sum()
    }

    pub fn layers(&self) -> usize {
        self.layers.len()
    }

    pub fn layers_done(&self) -> usize {
        self.layers.values().filter(|l| l.done).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_up_the_layers_of_a_pull() {
        let mut t = PullTally::default();
        // The tag line and image-wide messages are not layers.
        t.update(Some("8"), "Pulling from library/mysql", None, None);
        t.update(None, "Digest: sha256:abc", None, None);
        t.update(Some("aaa"), "Pulling fs layer", None, None);
        t.update(Some("bbb"), "Already exists", None, None);
        t.update(Some("ccc"), "Waiting", None, None);
        t.update(Some("aaa"), "Downloading", Some(100), Some(1000));
        t.update(Some("ccc"), "Downloading", Some(50), Some(500));
        assert_eq!((t.layers(), t.layers_done()), (3, 1));
        assert_eq!((t.downloaded(), t.size()), (150, 1500));
        t.update(Some("aaa"), "Download complete", None, None);
        t.update(Some("aaa"), "Extracting", Some(300), Some(1000));
        t.update(Some("aaa"), "Pull complete", None, None);
        assert_eq!((t.layers(), t.layers_done()), (3, 2));
        assert_eq!((t.downloaded(), t.size()), (1050, 1500));
    }
}
