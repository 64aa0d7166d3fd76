//! External RSS, Atom and JSON feeds, whatever a feed server sends: parsing never panics and
//! never hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = fengqiao_infra::feeds::parse(bytes);
});
