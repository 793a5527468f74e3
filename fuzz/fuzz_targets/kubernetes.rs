//! Kubernetes API answers (node, pod and autoscaler lists), through kube's client and the
//! source's conversion to the inventory. No panic.
#![no_main]

#[path = "common.rs"]
mod common;

use greenkube_adapters::sources::kubernetes::{KubernetesOptions, KubernetesSource};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let body = data.to_vec();
    let service = tower::service_fn(move |_request: http::Request<kube::client::Body>| {
        let body = body.clone();
        async move {
            let mut answer = http::Response::new(kube::client::Body::from(body));
            answer.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            Ok::<_, std::convert::Infallible>(answer)
        }
    });
    common::runtime().block_on(async {
        let client = kube::Client::new(service, "default");
        let options = KubernetesOptions {
            attempts: 1,
            ..KubernetesOptions::default()
        };
        let source = KubernetesSource::new(client).with_options(options);
        let _ = source.nodes().await;
        let _ = source.pods().await;
        let _ = source.hpas().await;
    });
});
