//! Images: presence, pull (with progress) and build (with output).

use std::collections::HashMap;
use std::path::Path;

use bollard::body_full;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::StreamExt;

use super::{Engine, fail, is_not_found, message};
use crate::error::{EngineOp, Error, Result};
use crate::plan::spec::BuildSpec;

/// Split `repo[:tag]` / `repo@digest` into the pull API's `fromImage` and `tag`.
fn split_reference(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rsplit_once(':') {
        // A ':' before the last '/' is a registry port, not a tag.
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

/// One progress message of a pull: a layer's state ("Downloading", "Pull complete")
/// and, while bytes move, how many of how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullUpdate {
    /// The layer (short id) the message is about; None for image-wide messages.
    pub layer: Option<String>,
    pub status: String,
    pub current: Option<u64>,
    pub total: Option<u64>,
}

/// What a pull or build may take beyond the usual deadline before its first answer.
const SLOW_START: std::time::Duration = std::time::Duration::from_secs(600);

impl Engine {
    /// The id (`sha256:…`) of the local image `image`, or None when it is not present.
    pub async fn image_id(&self, image: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(image).await {
            Ok(info) => Ok(info.id),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(fail(EngineOp::InspectImage, image)(e)),
        }
    }

    /// Pull `image`, reporting each progress message of the engine.
    pub async fn pull_image(
        &self,
        image: &str,
        on_progress: &(dyn Fn(PullUpdate) + Sync),
    ) -> Result<()> {
        let (from, tag) = split_reference(image);
        let mut opts = CreateImageOptionsBuilder::default().from_image(from);
        if !tag.is_empty() {
            opts = opts.tag(tag);
        }
        // A registry may take long to start answering; the layers then stream.
        let client = self.patient(SLOW_START);
        let mut stream = client.create_image(Some(opts.build()), None, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(fail(EngineOp::PullImage, image))?;
            let (current, total) = match info.progress_detail {
                Some(p) => (p.current, p.total.filter(|t| *t > 0)),
                None => (None, None),
            };
            on_progress(PullUpdate {
                layer: info.id,
                status: info.status.unwrap_or_default(),
                current: current.and_then(|c| u64::try_from(c).ok()),
                total: total.and_then(|t| u64::try_from(t).ok()),
            });
        }
        Ok(())
    }

    /// Give the local image `source` the name `target` too (`repo[:tag]`).
    pub async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let (repo, tag) = split_reference(target);
        let mut opts = TagImageOptionsBuilder::default().repo(repo);
        if !tag.is_empty() {
            opts = opts.tag(tag);
        }
        self.docker
            .tag_image(source, Some(opts.build()))
            .await
            .map_err(fail(EngineOp::TagImage, target))
    }

    /// Build `context` (honouring its `.dockerignore`) into `tag`, reporting each line of output.
    pub async fn build_image(
        &self,
        tag: &str,
        build: &BuildSpec,
        on_output: &(dyn Fn(String) + Sync),
    ) -> Result<()> {
        let context: &Path = &build.context;
        let dockerfile = build.dockerfile.as_deref();
        let args: HashMap<String, String> = build.args.clone().into_iter().collect();
        let dir = context.to_path_buf();
        let keep = dockerfile.map(String::from);
        let tar =
            tokio::task::spawn_blocking(move || super::build_context_tar(&dir, keep.as_deref()))
                .await
                .map_err(|e| Error::Engine {
                    op: EngineOp::BuildImage,
                    resource: tag.to_string(),
                    message: format!("packing the build context failed: {e}"),
                })?
                .map_err(|e| Error::Engine {
                    op: EngineOp::BuildImage,
                    resource: tag.to_string(),
                    message: format!("packing the build context {}: {e}", context.display()),
                })?;
        let mut opts = BuildImageOptionsBuilder::default()
            .t(tag)
            .dockerfile(dockerfile.unwrap_or("Dockerfile"))
            .rm(true)
            // Also remove the container of a step that failed: the classic builder
            // keeps it otherwise, and every failed `pier up` would leak one.
            .forcerm(true)
            .nocache(build.no_cache)
            .buildargs(&args);
        if build.pull {
            opts = opts.pull("1");
        }
        if let Some(t) = build.target.as_deref() {
            opts = opts.target(t);
        }
        // The engine answers once it has read the whole build context.
        let client = self.patient(SLOW_START);
        let mut stream = client.build_image(opts.build(), None, Some(body_full(tar.into())));
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| Error::Engine {
                op: EngineOp::BuildImage,
                resource: tag.to_string(),
                message: message(e),
            })?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(Error::Engine {
                    op: EngineOp::BuildImage,
                    resource: tag.to_string(),
                    message: err,
                });
            }
            if let Some(text) = info.stream.or(info.status) {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    on_output(line.to_string());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::split_reference;

    #[test]
    fn references_split_like_docker() {
        assert_eq!(split_reference("mysql:8"), ("mysql", "8"));
        assert_eq!(split_reference("mysql"), ("mysql", "latest"));
        assert_eq!(split_reference("reg:5000/app"), ("reg:5000/app", "latest"));
        assert_eq!(split_reference("reg:5000/app:2"), ("reg:5000/app", "2"));
    }
}
