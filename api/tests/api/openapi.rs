//! The published contract: the committed document matches what the server serves, and every
//! operation is documented the way integrators need.

use serde_json::Value;

use crate::helpers::spawn_app;

const REGENERATE: &str = "cargo run -p fengqiao-api -- openapi > openapi/openapi.json";

#[tokio::test]
async fn the_committed_openapi_document_matches_the_served_one() {
    let app = spawn_app().await;
    let served: Value = app
        .get("/api-docs/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let committed = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}; create it with `{REGENERATE}`"));
    let committed: Value = serde_json::from_str(&committed).expect("committed spec is JSON");
    assert!(
        served == committed,
        "openapi/openapi.json is out of date with the server; regenerate it with `{REGENERATE}`"
    );
}

#[tokio::test]
async fn every_operation_has_a_summary_an_id_and_problem_responses() {
    let spec: Value = serde_json::from_str(&fengqiao_api::openapi::document_json()).unwrap();
    assert_eq!(spec["openapi"], "3.1.0");
    assert!(spec["components"]["securitySchemes"]["staff_bearer"].is_object());
    let mut ids = std::collections::HashSet::new();
    let mut count = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            count += 1;
            let at = format!("{method} {path}");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{at}: summary"
            );
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: operationId"));
            assert!(
                ids.insert(id.to_owned()),
                "{at}: operationId {id} is unique"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{at}: tag"
            );
            let responses = op["responses"].as_object().unwrap();
            for status in ["500", "503"] {
                assert!(responses.contains_key(status), "{at}: documents {status}");
            }
            for (status, response) in responses {
                if path.starts_with("/open311") {
                    // The standard's own error shape.
                    if status.starts_with('4') || status.starts_with('5') {
                        let schema =
                            &response["content"]["application/json"]["schema"]["items"]["$ref"];
                        assert_eq!(
                            schema, "#/components/schemas/Open311Error",
                            "{at} {status}: Open311 error schema"
                        );
                    }
                    continue;
                }
                if status.starts_with('4') || status.starts_with('5') {
                    let schema = &response["content"]["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(
                        schema, "#/components/schemas/Problem",
                        "{at} {status}: problem schema"
                    );
                }
            }
            if op.get("security").is_some() {
                assert!(
                    responses.contains_key("401") && responses.contains_key("403"),
                    "{at}: auth errors"
                );
            }
        }
    }
    assert!(count >= 7, "all operations are collected, found {count}");
    // Every success body a client receives has an example in the contract.
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if !status.starts_with('2') {
                    continue;
                }
                let schema = &response["content"]["application/json"]["schema"];
                let reference = schema["$ref"]
                    .as_str()
                    .or_else(|| schema["items"]["$ref"].as_str());
                if let Some(name) = reference.map(|r| r.rsplit('/').next().unwrap()) {
                    assert!(
                        schemas[name].get("example").is_some(),
                        "{method} {path} {status}: {name} has no example"
                    );
                }
            }
        }
    }
    assert!(
        spec["components"]["schemas"]["Problem"]["example"].is_object(),
        "Problem has an example"
    );
}
