//! The route table of infra/template.yaml's HttpApi, by hand. A test
//! (tests/template_routes.rs) reads the template and fails when the two
//! differ, so the server derives nothing from YAML at run time.

/// Who may call a route, as the template's `Auth` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorizer: NONE`: no JWT (the carrier webhook signs its body;
    /// Bandwidth's routes send HTTP Basic, which the function checks). The
    /// request reaches the function as sent, `authorization` header and all.
    None,
    /// The JWT authorizer, with any one of these scopes.
    Scopes(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `ANY` or an HTTP method, as in the template.
    pub method: &'static str,
    /// The template's path, `{name}` for a path parameter.
    pub path: &'static str,
    /// The function (package, binary and `cargo lambda watch` name).
    pub function: &'static str,
    pub auth: Auth,
}

pub const ADMIN: &str = "portguard/admin";
pub const CARRIER: &str = "portguard/carrier";

#[allow(non_snake_case)]
const fn R(method: &'static str, path: &'static str, function: &'static str, auth: Auth) -> Route {
    Route {
        method,
        path,
        function,
        auth,
    }
}

/// Every `Type: HttpApi` event of infra/template.yaml.
pub fn routes() -> Vec<Route> {
    use Auth::*;
    vec![
        R("ANY", "/v1/pin", "set-pin", Scopes(&[ADMIN])),
        R("GET", "/v1/audit-events", "set-pin", Scopes(&[ADMIN])),
        R(
            "ANY",
            "/v1/notification-endpoint",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        R("GET", "/v1/transfer-pins", "set-pin", Scopes(&[ADMIN])),
        R("POST", "/v1/transfer-pins", "set-pin", Scopes(&[ADMIN])),
        R(
            "DELETE",
            "/v1/transfer-pins/{id}",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        R(
            "GET",
            "/v1/port-out-protection",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        R(
            "PATCH",
            "/v1/port-out-protection",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        // contract §17: alert contacts.
        R("GET", "/v1/alert-contacts", "set-pin", Scopes(&[ADMIN])),
        R("POST", "/v1/alert-contacts", "set-pin", Scopes(&[ADMIN])),
        R(
            "POST",
            "/v1/alert-contacts/{id}/confirm",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        R(
            "PATCH",
            "/v1/alert-contacts/{id}",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        R(
            "DELETE",
            "/v1/alert-contacts/{id}",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        R("GET", "/v1/numbers", "set-pin", Scopes(&[ADMIN])),
        R(
            "GET",
            "/v1/numbers/{phoneNumber}",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        R(
            "PATCH",
            "/v1/numbers/{phoneNumber}",
            "set-pin",
            Scopes(&[ADMIN]),
        ),
        R(
            "POST",
            "/v1/port-outs",
            "submit-port-out",
            Scopes(&[CARRIER]),
        ),
        R(
            "GET",
            "/v1/port-outs",
            "submit-port-out",
            Scopes(&[CARRIER, ADMIN]),
        ),
        R(
            "GET",
            "/v1/port-outs/{id}",
            "submit-port-out",
            Scopes(&[CARRIER, ADMIN]),
        ),
        R(
            "POST",
            "/v1/port-outs/{id}/reject",
            "submit-port-out",
            Scopes(&[ADMIN]),
        ),
        R(
            "POST",
            "/v1/carrier-events/{carrierId}",
            "carrier-webhook",
            None,
        ),
        R(
            "POST",
            "/v1/integrations/bandwidth/port-out-validation",
            "submit-port-out",
            None,
        ),
        R(
            "POST",
            "/v1/integrations/bandwidth/notifications",
            "submit-port-out",
            None,
        ),
        // contract §16: the Ed25519 signature is checked by the function.
        R(
            "POST",
            "/v1/integrations/telnyx/port-out-events",
            "submit-port-out",
            None,
        ),
    ]
}

/// A matched route and its path parameters (raw, as in the request path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub route: Route,
    pub params: Vec<(String, String)>,
}

/// The route for METHOD PATH, as API Gateway picks it: the most specific
/// path (literal segments before parameters), then an exact method before
/// `ANY`. `None` is API Gateway's 404 (an unknown path or method alike).
pub fn find(table: &[Route], method: &str, path: &str) -> Option<Matched> {
    let segs: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, bool, Matched)> = None;
    for route in table {
        if route.method != "ANY" && !route.method.eq_ignore_ascii_case(method) {
            continue;
        }
        let want: Vec<&str> = route.path.split('/').collect();
        if want.len() != segs.len() {
            continue;
        }
        let mut params = Vec::new();
        let mut literals = 0;
        let ok = want.iter().zip(&segs).all(|(w, s)| {
            if let Some(name) = w.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                params.push((name.to_string(), s.to_string()));
                !s.is_empty()
            } else {
                literals += 1;
                w == s
            }
        });
        if !ok {
            continue;
        }
        let exact = route.method != "ANY";
        let better = match &best {
            None => true,
            Some((l, e, _)) => (literals, exact) > (*l, *e),
        };
        if better {
            best = Some((
                literals,
                exact,
                Matched {
                    route: *route,
                    params,
                },
            ));
        }
    }
    best.map(|(_, _, m)| m)
}

/// API Gateway's `routeKey`: `"POST /v1/port-outs/{id}/reject"`.
pub fn route_key(route: &Route) -> String {
    format!("{} {}", route.method, route.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_literal_and_parameter_paths() {
        let t = routes();
        let m = find(&t, "POST", "/v1/port-outs/po_1/reject").unwrap();
        assert_eq!(m.route.path, "/v1/port-outs/{id}/reject");
        assert_eq!(m.params, vec![("id".to_string(), "po_1".to_string())]);
        assert_eq!(
            find(&t, "GET", "/v1/port-outs/po_1").unwrap().route.path,
            "/v1/port-outs/{id}"
        );
        assert_eq!(find(&t, "DELETE", "/v1/pin").unwrap().route.method, "ANY");
        assert!(find(&t, "DELETE", "/v1/port-outs").is_none());
        assert!(find(&t, "GET", "/v1/port-outs//reject").is_none());
        assert!(find(&t, "GET", "/v1/nothing").is_none());
        assert!(find(&t, "GET", "/v1/pin/").is_none());
    }

    /// contract §17: the five alert-contact routes, set-pin's, admins only.
    #[test]
    fn alert_contact_routes_go_to_set_pin_for_admins() {
        let t = routes();
        for (method, path, want) in [
            ("GET", "/v1/alert-contacts", "/v1/alert-contacts"),
            ("POST", "/v1/alert-contacts", "/v1/alert-contacts"),
            (
                "POST",
                "/v1/alert-contacts/ac_1/confirm",
                "/v1/alert-contacts/{id}/confirm",
            ),
            (
                "PATCH",
                "/v1/alert-contacts/ac_1",
                "/v1/alert-contacts/{id}",
            ),
            (
                "DELETE",
                "/v1/alert-contacts/ac_1",
                "/v1/alert-contacts/{id}",
            ),
        ] {
            let m = find(&t, method, path).unwrap_or_else(|| panic!("{method} {path}"));
            assert_eq!(m.route.path, want);
            assert_eq!(m.route.function, "set-pin");
            assert_eq!(m.route.auth, Auth::Scopes(&[ADMIN]));
            if want.contains("{id}") {
                assert_eq!(m.params, vec![("id".to_string(), "ac_1".to_string())]);
            }
        }
        // No other method: API Gateway's 404.
        assert!(find(&t, "DELETE", "/v1/alert-contacts").is_none());
        assert!(find(&t, "GET", "/v1/alert-contacts/ac_1").is_none());
        assert!(find(&t, "GET", "/v1/alert-contacts/ac_1/confirm").is_none());
        assert!(find(&t, "POST", "/v1/alert-contacts//confirm").is_none());
    }

    #[test]
    fn bandwidth_routes_are_post_only_and_take_no_jwt() {
        let t = routes();
        for path in [
            "/v1/integrations/bandwidth/port-out-validation",
            "/v1/integrations/bandwidth/notifications",
        ] {
            let m = find(&t, "POST", path).unwrap();
            assert_eq!(m.route.function, "submit-port-out");
            assert_eq!(m.route.auth, Auth::None);
            assert!(m.params.is_empty());
            // API Gateway's 404 for another method, as for any POST route.
            assert!(find(&t, "GET", path).is_none());
        }
        assert!(find(&t, "POST", "/v1/integrations/bandwidth").is_none());
    }

    /// HTTP Basic and an XML body reach the function unchanged: the server
    /// checks no token and no content type on an `Auth::None` route.
    #[test]
    fn basic_credentials_and_an_xml_body_reach_the_function_as_sent() {
        use crate::event::{build, Incoming};
        let t = routes();
        let path = "/v1/integrations/bandwidth/port-out-validation";
        let m = find(&t, "POST", path).unwrap();
        let xml = "<?xml version=\"1.0\"?>\n<PortOutValidationRequest><Pin>48151623</Pin>\
                   <TelephoneNumbers><TelephoneNumber>2065550100</TelephoneNumber>\
                   </TelephoneNumbers></PortOutValidationRequest>";
        let incoming = Incoming {
            method: "POST",
            path,
            query: "",
            headers: vec![
                (
                    "Authorization".into(),
                    "Basic YmFuZHdpZHRoOnNlY3JldA==".into(),
                ),
                (
                    "Content-Type".into(),
                    "application/xml; charset=utf-8".into(),
                ),
            ],
            body: xml.as_bytes(),
            peer: "127.0.0.1:5000".parse().unwrap(),
            host: "127.0.0.1:3000",
        };
        let ev = build(&incoming, &m, None);
        assert_eq!(
            ev["headers"]["authorization"],
            "Basic YmFuZHdpZHRoOnNlY3JldA=="
        );
        assert_eq!(
            ev["headers"]["content-type"],
            "application/xml; charset=utf-8"
        );
        assert_eq!(ev["body"], xml);
        assert_eq!(ev["isBase64Encoded"], false);
        assert_eq!(ev["routeKey"], format!("POST {path}"));
        assert!(ev["requestContext"].get("authorizer").is_none());
    }
}
