//! Bodies pushed to the WeChat callback (after the signature, which does not cover the body):
//! reading them never panics, and only withdrawals come out of them.
#![no_main]

use fengqiao_domain::messaging::SubscribeChoice;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Some(pushed) = fengqiao_infra::wechat::pushed_withdrawals(body) {
        assert!(
            pushed
                .withdrawn
                .iter()
                .all(|(_, c)| matches!(c, SubscribeChoice::Reject | SubscribeChoice::Ban)),
            "an accept never comes from a push"
        );
    }
});
