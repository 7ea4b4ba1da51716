fn main() {
    println!("icdflow");
}
