fn main() {
    afl::fuzz!(|data: &[u8]| hailong_fuzz::import(hailong::import::Format::Workbook, data));
}
