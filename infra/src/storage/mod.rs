//! Where attachments live: local disk for the embedded default, any S3-compatible object store
//! (MinIO, Ceph, Alibaba OSS, Huawei OBS, AWS S3) in production, where several instances must
//! see the same files.

mod local;
mod s3;

pub use local::LocalDiskStorage;
pub use s3::S3Storage;
