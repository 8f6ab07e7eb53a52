//! The local API's route table is the template's: every `Type: HttpApi`
//! event of infra/template.yaml (method, path, function, auth) and no other.

use portguard_local_api::routes::{routes, Auth};
use std::collections::BTreeSet;
use yaml_rust2::{Yaml, YamlLoader};

type Row = (String, String, String, String);

fn template_routes() -> BTreeSet<Row> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("infra/template.yaml");
    let docs = YamlLoader::load_from_str(&text).expect("the template parses");
    let resources = docs[0]["Resources"].as_hash().expect("Resources");
    let mut out = BTreeSet::new();
    for (_, res) in resources {
        let Some(events) = res["Properties"]["Events"].as_hash() else {
            continue;
        };
        // infra/Makefile builds each function from its package, whose one
        // binary has the package's (and its directory's) name.
        let function = res["Properties"]["CodeUri"]
            .as_str()
            .and_then(|uri| uri.rsplit('/').next())
            .expect("an HTTP function names its package directory")
            .to_string();
        for (_, ev) in events {
            if ev["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let p = &ev["Properties"];
            let auth = &p["Auth"];
            let auth = match (
                auth["Authorizer"].as_str(),
                auth["AuthorizationScopes"].as_vec(),
            ) {
                (Some("NONE"), _) => "NONE".to_string(),
                (_, Some(scopes)) => {
                    let mut s: Vec<&str> = scopes.iter().filter_map(Yaml::as_str).collect();
                    s.sort();
                    s.join(" ")
                }
                _ => String::new(),
            };
            out.insert((
                p["Method"].as_str().expect("Method").to_uppercase(),
                p["Path"].as_str().expect("Path").to_string(),
                function.clone(),
                auth,
            ));
        }
    }
    out
}

fn table_routes() -> BTreeSet<Row> {
    routes()
        .into_iter()
        .map(|r| {
            let auth = match r.auth {
                Auth::None => "NONE".to_string(),
                Auth::Scopes(s) => {
                    let mut s = s.to_vec();
                    s.sort();
                    s.join(" ")
                }
            };
            (
                r.method.to_string(),
                r.path.to_string(),
                r.function.to_string(),
                auth,
            )
        })
        .collect()
}

#[test]
fn route_table_equals_the_templates_http_api_events() {
    let template = template_routes();
    let table = table_routes();
    assert!(
        !template.is_empty(),
        "found no HttpApi events in the template"
    );
    let missing: Vec<_> = template.difference(&table).collect();
    let extra: Vec<_> = table.difference(&template).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "cli/portguard-local-api/src/routes.rs differs from infra/template.yaml\n  \
         in the template only: {missing:?}\n  in the local API only: {extra:?}"
    );
    assert_eq!(routes().len(), template.len(), "a route is listed twice");
}
