//! Built-in stacks are embedded with `include_dir!`, which stable Rust cannot
//! track: rebuild when anything under stacks/ or templates/ changes.

fn main() {
    println!("cargo:rerun-if-changed=stacks");
    println!("cargo:rerun-if-changed=templates");
}
