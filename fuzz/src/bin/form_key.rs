fn main() {
    afl::fuzz!(|data: &[u8]| hailong_fuzz::form_key(data));
}
