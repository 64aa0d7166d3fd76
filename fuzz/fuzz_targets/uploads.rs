//! Uploaded files, whatever bytes they carry: deciding the kind from the first bytes and
//! stripping metadata never panic, and a cleaned file is still the kind it was.
#![no_main]

use fengqiao_domain::petition::{AttachmentKind, strip_metadata};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Some(kind) = AttachmentKind::sniff(bytes)
        && let Some(clean) = strip_metadata(kind, bytes)
    {
        assert_eq!(AttachmentKind::sniff(&clean), Some(kind), "cleaning kept the kind");
    }
});
