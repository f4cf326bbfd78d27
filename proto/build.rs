//! Compiles `proto/**/*.proto` with protox (no protoc), generates prost messages, tonic client
//! and server halves (behind the `client` / `server` features), pbjson serde impls for the
//! canonical proto3 JSON mapping, and writes the encoded file descriptor set for reflection and
//! for the gateway's REST transcoder. The set is encoded by protox itself: re-encoding it through
//! `prost_types` would silently drop the `google.api.http` options (extensions prost does not
//! know), which the gateway reads its REST routes from; it keeps the comments (source info) for
//! the OpenAPI document too.

use std::path::{Path, PathBuf};

const PROTO_ROOT: &str = "proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = proto_files(Path::new(PROTO_ROOT))?;
    let mut compiler = protox::Compiler::new([PROTO_ROOT])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?;
    let encoded = compiler.encode_file_descriptor_set();
    let descriptors = compiler.file_descriptor_set();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("rti_descriptor.bin"), &encoded)?;

    tonic_prost_build::configure()
        .build_client(std::env::var_os("CARGO_FEATURE_CLIENT").is_some())
        .build_server(std::env::var_os("CARGO_FEATURE_SERVER").is_some())
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .compile_fds(descriptors)?;

    pbjson_build::Builder::new()
        .register_descriptors(&encoded)?
        .build(&[".rti"])?;

    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Ok(())
}

fn proto_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(proto_files(&path)?);
        } else if path.extension().is_some_and(|extension| extension == "proto") {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}
