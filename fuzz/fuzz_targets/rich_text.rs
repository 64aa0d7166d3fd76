//! Article bodies from editors and feeds: sanitising never panics, and nothing that runs,
//! frames or fetches on its own survives it, however the markup is broken or nested.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|html: &str| {
    let clean = fengqiao_infra::html::sanitise(html).to_ascii_lowercase();
    for tag in ["<script", "<iframe", "<object", "<embed", "<style", "<form", "<svg", "<math"] {
        assert!(!clean.contains(tag), "{tag} survived: {clean}");
    }
    // An attribute that runs something would be inside a tag: look in the tags only.
    for tag in clean.split('<').skip(1).filter_map(|t| t.split('>').next()) {
        assert!(!tag.contains(" on"), "an event handler survived: <{tag}>");
        assert!(!tag.contains("style="), "a style survived: <{tag}>");
        assert!(!tag.contains("javascript:"), "a script URL survived: <{tag}>");
    }
});
