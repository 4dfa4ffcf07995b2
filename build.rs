//! Rebuilds the crate when a message catalog changes: rust-i18n embeds `src/locales` at compile
//! time, but cargo does not know those files are inputs.

fn main() {
    println!("cargo:rerun-if-changed=src/locales");
    println!("cargo:rerun-if-changed=flows");
}
