//! Attachment storage on local disk, for the embedded default. Keys are relative paths made of
//! safe segments only, so a key can never escape the storage directory.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use fengqiao_domain::ports::{ObjectStorage, Unavailable};

pub struct LocalDiskStorage {
    root: PathBuf,
}

impl LocalDiskStorage {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, Unavailable> {
        let relative = Path::new(key);
        let safe = !key.is_empty()
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if safe {
            Ok(self.root.join(relative))
        } else {
            Err(Unavailable::new(
                "local storage",
                format!("unsafe key {key:?}"),
            ))
        }
    }
}

fn io(e: std::io::Error) -> Unavailable {
    Unavailable::new("local storage", e)
}

#[async_trait]
impl ObjectStorage for LocalDiskStorage {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), Unavailable> {
        let path = self.path_of(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        // Write aside, then rename: a reader never sees half a file, a crash leaves no torn one.
        let tmp = path.with_extension("part");
        tokio::fs::write(&tmp, bytes).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Unavailable> {
        match tokio::fs::read(self.path_of(key)?).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), Unavailable> {
        match tokio::fs::remove_file(self.path_of(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn files_round_trip_and_keys_cannot_escape() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalDiskStorage::new(dir.path());
        storage.put("2026/11/a.pdf", b"%PDF").await.unwrap();
        assert_eq!(
            storage.get("2026/11/a.pdf").await.unwrap().unwrap(),
            b"%PDF"
        );
        storage.delete("2026/11/a.pdf").await.unwrap();
        assert!(storage.get("2026/11/a.pdf").await.unwrap().is_none());
        assert!(storage.put("../escape", b"x").await.is_err());
        assert!(storage.put("/etc/passwd", b"x").await.is_err());
    }
}
