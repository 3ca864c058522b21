//! Management pages that change the organisation: officers, desks, new collection points,
//! questionnaires, accounts and API keys. Forms need no JavaScript; a refused change comes back
//! with its reason above the form.

use maud::{Markup, html};

use super::admin::page;
use crate::domain::account::Account;
use crate::domain::account::Caller;
use crate::domain::org::{Assignment, Desk, Officer, Unit};
use crate::domain::questionnaire::Questionnaire;
use crate::domain::refusal::{Missing, Refusal};

fn notice(message: Option<&str>) -> Markup {
    html! { @if let Some(m) = message { div.alert role="alert" { p { (m) } } } }
}

fn unit_options(units: &[Unit], selected: Option<&str>) -> Markup {
    html! {
        @for u in units.iter().filter(|u| u.valid_to.is_none()) {
            option value=(u.code) selected[selected == Some(u.code.as_str())] { (u.name) " (" (u.code) ")" }
        }
    }
}

fn desk_options(desks: &[Desk]) -> Markup {
    html! {
        option value="" { "— Không gắn quầy —" }
        @for d in desks { option value=(d.code) { (d.name) " (" (d.code) ", " (d.unit_code) ")" } }
    }
}

pub fn officers(caller: &Caller, officers: &[Officer]) -> Markup {
    page(
        caller,
        "Cán bộ",
        html! {
            ul.points {
                @for o in officers {
                    li {
                        a href={ "/admin/officers/" (o.code) } { strong { (o.full_name) } } " " span.small { "(" (o.code) ")" }
                        br;
                        span.small {
                            (o.unit_code) @if let Some(d) = &o.desk_code { " · " (d) }
                            " · từ " (o.valid_from) @if let Some(to) = &o.valid_to { " đến " (to) " (đã kết thúc)" }
                        }
                    }
                }
            }
            @if officers.is_empty() { p { "Chưa có cán bộ nào trong phạm vi." } }
        },
    )
}

/// One officer: the assignment history, and (for managers) moving them or ending the assignment.
pub fn officer(
    caller: &Caller,
    officer: &Officer,
    history: &[Assignment],
    units: &[Unit],
    desks: &[Desk],
    manage: bool,
    message: Option<&str>,
) -> Markup {
    page(
        caller,
        &officer.full_name,
        html! {
            (notice(message))
            p { span.small { (officer.code) " · " } a href={ "/admin/indices/officer/" (officer.code) } { "Chỉ số hài lòng của cán bộ" } }
            h2 { "Quá trình phân công" }
            table.audit {
                thead { tr { th { "Đơn vị" } th { "Quầy" } th { "Từ" } th { "Đến" } } }
                tbody {
                    @for a in history {
                        tr { td { (a.unit_name) } td { (a.desk_code.as_deref().unwrap_or("—")) } td { (a.valid_from) } td { (a.valid_to.as_deref().unwrap_or("nay")) } }
                    }
                }
            }
            @if manage {
                h2 { "Điều chuyển" }
                p.small { "Đánh giá trước ngày chuyển vẫn thuộc đơn vị cũ; mã QR của cán bộ đi theo cán bộ." }
                form method="post" action={ "/admin/officers/" (officer.code) "/move" } {
                    label.block for="unit" { "Đơn vị mới" }
                    select #unit name="unit" required { (unit_options(units, None)) }
                    label.block for="desk" { "Quầy" }
                    select #desk name="desk" { (desk_options(desks)) }
                    label.block for="from" { "Từ ngày" }
                    input #from type="date" name="from" required;
                    p {}
                    button type="submit" { "Điều chuyển" }
                }
                h2 { "Kết thúc phân công" }
                form method="post" action={ "/admin/officers/" (officer.code) "/end" } {
                    label.block for="last_day" { "Ngày làm việc cuối cùng" }
                    input #last_day type="date" name="last_day" required;
                    p {}
                    button type="submit" { "Kết thúc phân công" }
                }
            }
        },
    )
}

pub fn desks(caller: &Caller, desks: &[Desk], units: &[Unit], manage: bool, message: Option<&str>) -> Markup {
    page(
        caller,
        "Quầy",
        html! {
            (notice(message))
            ul.points {
                @for d in desks { li { strong { (d.name) } br; span.small { (d.code) " · " (d.unit_code) } } }
            }
            @if manage {
                h2 { "Thêm quầy" }
                form method="post" action="/admin/desks" {
                    label.block for="code" { "Mã quầy" }
                    input #code type="text" name="code" required maxlength="40";
                    label.block for="name" { "Tên quầy" }
                    input #name type="text" name="name" required maxlength="200";
                    label.block for="unit" { "Thuộc đơn vị" }
                    select #unit name="unit" required { (unit_options(units, None)) }
                    p {}
                    button type="submit" { "Thêm quầy" }
                }
            }
        },
    )
}

/// The form that opens a new collection point.
pub fn new_point_form(
    units: &[Unit],
    desks: &[Desk],
    officers: &[Officer],
    questionnaires: &[&Questionnaire],
) -> Markup {
    html! {
        details.confirm {
            summary { "Mở điểm đánh giá mới…" }
            form method="post" action="/admin/points" {
                label.block for="p_unit" { "Đơn vị" }
                select #p_unit name="unit" required { (unit_options(units, None)) }
                label.block for="p_desk" { "Quầy (không bắt buộc)" }
                select #p_desk name="desk" { (desk_options(desks)) }
                label.block for="p_officer" { "Cán bộ (không bắt buộc)" }
                select #p_officer name="officer" {
                    option value="" { "— Không gắn cán bộ —" }
                    @for o in officers.iter().filter(|o| o.valid_to.is_none()) { option value=(o.code) { (o.full_name) " (" (o.code) ")" } }
                }
                label.block for="p_q" { "Phiếu khảo sát" }
                select #p_q name="questionnaire" {
                    @for q in questionnaires { option value=(q.id) { (q.title_vi) " (" (q.id) ")" } }
                }
                p {}
                button type="submit" { "Mở điểm đánh giá" }
            }
        }
    }
}

pub fn questionnaires(caller: &Caller, all: &[&Questionnaire]) -> Markup {
    page(
        caller,
        "Phiếu khảo sát",
        html! {
            p.small { "Phiếu là dữ liệu có phiên bản; mỗi đánh giá ghi phiên bản đã trả lời. Đổi phiếu của một điểm ở trang Điểm đánh giá." }
            @for q in all {
                section.unit {
                    h2 { (q.title_vi) " — " (q.id) " phiên bản " (q.version) }
                    p.small { (q.questions.len()) " câu hỏi, " (q.elements.len()) " nhóm tiêu chí" }
                    details {
                        summary { "Xem câu hỏi" }
                        ol { @for question in &q.questions { li { (question.vi) @if question.required { " *" } } } }
                    }
                }
            }
        },
    )
}

pub fn users(
    caller: &Caller,
    users: &[Account],
    keys: &[(String, String, bool)],
    units: &[Unit],
    message: Option<&str>,
) -> Markup {
    page(
        caller,
        "Tài khoản và khóa API",
        html! {
            (notice(message))
            table.audit {
                thead { tr { th { "Tên" } th { "Vai trò" } th { "Đơn vị" } th { "Trạng thái" } th {} } }
                tbody {
                    @for u in users {
                        tr {
                            td { (u.name) } td { (u.role.label_vi()) } td { (u.unit_code.as_deref().unwrap_or("—")) }
                            td { @if u.disabled { "đã khóa" } @else { "hoạt động" } }
                            td {
                                @if !u.disabled {
                                    form method="post" action={ "/admin/users/" (u.name) "/apikeys" } { button.link type="submit" { "Tạo khóa API" } }
                                    form method="post" action={ "/admin/users/" (u.name) "/disable" } { button.link type="submit" { "Khóa tài khoản" } }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Khóa API" }
            ul.points {
                @for (prefix, user, active) in keys {
                    li {
                        code { (prefix) "…" } " — " (user) @if !active { " (đã thu hồi)" }
                        @if *active {
                            form.inline method="post" action={ "/admin/apikeys/" (prefix) "/revoke" } { button.link type="submit" { "Thu hồi" } }
                        }
                    }
                }
            }
            h2 { "Thêm tài khoản" }
            form method="post" action="/admin/users" {
                label.block for="u_name" { "Tên đăng nhập" }
                input #u_name type="text" name="name" required maxlength="64";
                label.block for="u_role" { "Vai trò" }
                select #u_role name="role" {
                    @for role in crate::domain::account::Role::ALL { option value=(role.code()) { (role.label_vi()) } }
                }
                label.block for="u_unit" { "Đơn vị (mọi vai trò trừ quản trị hệ thống)" }
                select #u_unit name="unit" { option value="" { "—" } (unit_options(units, None)) }
                label.block for="u_password" { "Mật khẩu (ít nhất 12 ký tự; để trống cho tài khoản tích hợp)" }
                input #u_password type="password" name="password" autocomplete="new-password";
                p {}
                button type="submit" { "Thêm tài khoản" }
            }
        },
    )
}

/// A new API key, shown this once.
pub fn new_key(caller: &Caller, user: &str, key: &str) -> Markup {
    page(
        caller,
        "Khóa API mới",
        html! {
            div.ok role="status" {
                p { "Khóa API của " strong { (user) } ". Hãy sao chép ngay: khóa chỉ hiển thị một lần." }
                p { code { (key) } }
            }
            p { a href="/admin/users" { "Quay lại danh sách tài khoản" } }
        },
    )
}

/// Why a change was refused, as the management pages say it.
pub fn refusal(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Missing(Missing::Unit(code)) => format!("Không có đơn vị mã {code}."),
        Refusal::Missing(Missing::Officer(code)) => format!("Không có cán bộ mã {code}."),
        Refusal::Missing(Missing::Account(name)) => format!("Không có tài khoản đang hoạt động tên {name}."),
        Refusal::DeskCodeTaken(code) => format!("Mã quầy {code} đã được dùng."),
        Refusal::DeskNotInUnit { desk, unit } => format!("Quầy {desk} không thuộc đơn vị {unit}."),
        Refusal::AssignedFrom(day) => format!("Cán bộ đã có phân công từ {day}; ngày chuyển phải sau ngày đó."),
        Refusal::NoOpenAssignment(code) => format!("Cán bộ {code} không có phân công đang mở."),
        Refusal::EndsBeforeStart(since) => format!("Ngày kết thúc phải từ {since} trở đi."),
        Refusal::AccountExists(name) => format!("Đã có tài khoản tên {name}."),
        Refusal::DateOutOfRange => "Ngày không hợp lệ.".to_owned(),
        Refusal::BadCode(why) => format!("Mã: {why}"),
        Refusal::BadName(why) => format!("Tên: {why}"),
        Refusal::BadReason(_) => "Lý do: nhập từ 5 đến 500 ký tự, không xuống dòng.".to_owned(),
        Refusal::NothingChosen => "Chưa chọn phiếu nào.".to_owned(),
        Refusal::DateUnreadable => "Ngày không hợp lệ: nhập theo dạng năm-tháng-ngày, ví dụ 2026-07-01.".to_owned(),
    }
}
