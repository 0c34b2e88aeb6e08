//! Generates the socket frames' Rust types from `proto/*.proto`.
//!
//! protoc is not assumed to be installed: `protoc-bin-vendored` ships it as a
//! crate, so a fresh machine builds with nothing but cargo.

fn main() {
    let protos = [
        "proto/connection.proto",
        "proto/request.proto",
        "proto/response.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let protoc_path = protoc_bin_vendored::protoc_bin_path().expect("vendored protoc is available");
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_path);
    // `bytes` fields become `Bytes`, so decoding a frame slices it instead of
    // copying every argument and every bulk reply.
    config.bytes(["."]);
    config
        .compile_protos(&protos, &["proto"])
        .expect("the .proto files compile");
}
