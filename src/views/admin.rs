//! The management pages: sign-in, overview of the unit tree, collection points, audit log.

use std::collections::HashMap;

use maud::{Markup, html};

use super::{Lang, layout};
use crate::domain::account::Permission;
use crate::domain::clock;
use crate::store::{AuditEntry, AuditFilter, DeskRow, OfficerRow, PointRow, UnitRow};
use crate::web::auth::Caller;

fn nav(caller: &Caller) -> Markup {
    html! {
        nav.admin aria-label="Quản trị" {
            a href="/admin" { "Tổng quan" }
            a href="/admin/points" { "Điểm đánh giá" }
            @if caller.role.allows(Permission::Administer) { a href="/admin/audit" { "Nhật ký" } }
            form method="post" action="/admin/logout" {
                button.link type="submit" { "Đăng xuất (" (caller.name) ")" }
            }
        }
    }
}

fn page(caller: &Caller, title: &str, body: Markup) -> Markup {
    layout(
        Lang::Vi,
        title,
        html! {},
        html! {
            (nav(caller))
            h1 { (title) }
            p.small { "Tài khoản " strong { (caller.name) } " — " (caller.role.label_vi()) }
            (body)
        },
    )
}

/// The sign-in form, with a generic message after a failure.
pub fn login(next: &str, error: Option<&str>) -> Markup {
    layout(
        Lang::Vi,
        "Đăng nhập quản trị",
        html! {},
        html! {
            h1 { "Đăng nhập" }
            @if let Some(e) = error { div.alert role="alert" { p { (e) } } }
            form method="post" action="/admin/login" {
                input type="hidden" name="next" value=(next);
                label.block for="name" { "Tên đăng nhập" }
                input #name type="text" name="name" autocomplete="username" required autofocus;
                label.block for="password" { "Mật khẩu" }
                input #password type="password" name="password" autocomplete="current-password" required;
                p {}
                button type="submit" { "Đăng nhập" }
            }
        },
    )
}

/// The caller's units as a tree, with their desks and officers.
pub fn dashboard(caller: &Caller, units: &[UnitRow], desks: &[DeskRow], officers: &[OfficerRow]) -> Markup {
    let codes: std::collections::HashSet<&str> = units.iter().map(|u| u.code.as_str()).collect();
    let mut children: HashMap<Option<&str>, Vec<&UnitRow>> = HashMap::new();
    for u in units {
        // A unit whose parent is outside the scope is a root of the caller's tree.
        let parent = u.parent_code.as_deref().filter(|p| codes.contains(p));
        children.entry(parent).or_default().push(u);
    }
    let desks_of = |code: &str| desks.iter().filter(|d| d.unit_code == code).count();
    let officers_of = |code: &str| officers.iter().filter(|o| o.unit_code == code && o.valid_to.is_none()).count();
    fn branch<'a>(
        parent: Option<&str>,
        children: &HashMap<Option<&str>, Vec<&'a UnitRow>>,
        desks_of: &dyn Fn(&str) -> usize,
        officers_of: &dyn Fn(&str) -> usize,
    ) -> Markup {
        html! {
            ul.tree {
                @for u in children.get(&parent).into_iter().flatten() {
                    li {
                        strong { (u.name) } " " span.small { "(" (u.code) ")" }
                        br;
                        span.small {
                            "Hiệu lực từ " (u.valid_from)
                            @if let Some(to) = &u.valid_to { " đến " (to) }
                            @if let Some(s) = &u.successor_code { " — sáp nhập vào " (s) }
                            " · " (desks_of(&u.code)) " quầy · " (officers_of(&u.code)) " cán bộ"
                        }
                        (branch(Some(u.code.as_str()), children, desks_of, officers_of))
                    }
                }
            }
        }
    }
    page(
        caller,
        "Tổng quan",
        html! {
            p { (units.len()) " đơn vị, " (desks.len()) " quầy, " (officers.len()) " cán bộ trong phạm vi của tài khoản." }
            (branch(None, &children, &desks_of, &officers_of))
        },
    )
}

/// The active collection points in scope, by unit, with their QR codes and actions.
pub fn points(caller: &Caller, points: &[PointRow], base: &str) -> Markup {
    let manage = caller.role.allows(Permission::ManagePoints);
    let mut units: Vec<(&str, &str)> = points.iter().map(|p| (p.unit_code.as_str(), p.unit_name.as_str())).collect();
    units.dedup();
    page(
        caller,
        "Điểm đánh giá",
        html! {
            @for (code, name) in &units {
                section.unit {
                    h2 { (name) }
                    @if manage {
                        p { a href={ "/admin/units/" (code) "/posters" } { "In bảng mã QR của đơn vị (A4)" } }
                    }
                    ul.points {
                        @for p in points.iter().filter(|p| p.unit_code == *code) {
                            li {
                                strong { (p.label) }
                                br;
                                span.small { (p.questionnaire_id) " · " a href=(crate::domain::point::form_url(base, &p.slug)) { (p.slug) } }
                                br;
                                a href={ "/admin/points/" (p.slug) "/qr.svg" } { "Tải mã QR (SVG)" }
                                @if manage {
                                    // A second tap confirms: a revoked code cannot be brought back.
                                    details.confirm {
                                        summary { "Cấp mã mới…" }
                                        p.small { "Mã hiện tại ngừng nhận đánh giá; cần in lại áp phích với mã mới." }
                                        form method="post" action={ "/admin/points/" (p.slug) "/reissue" } {
                                            button type="submit" { "Xác nhận cấp mã mới" }
                                        }
                                    }
                                    details.confirm {
                                        summary { "Thu hồi…" }
                                        p.small { "Mã QR này sẽ ngừng nhận đánh giá và không thể khôi phục." }
                                        form method="post" action={ "/admin/points/" (p.slug) "/revoke" } {
                                            button type="submit" { "Xác nhận thu hồi" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if points.is_empty() { p { "Chưa có điểm đánh giá nào trong phạm vi." } }
        },
    )
}

/// The audit log, newest first, with filters.
pub fn audit(caller: &Caller, filter: &AuditFilter, entries: &[AuditEntry]) -> Markup {
    let time = |ms: i64| {
        let at = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let at = at.to_offset(clock::VIETNAM);
        format!("{} {:02}:{:02}", clock::iso(at.date()), at.hour(), at.minute())
    };
    page(
        caller,
        "Nhật ký thay đổi",
        html! {
            form method="get" action="/admin/audit" {
                label.block for="actor" { "Người thực hiện" }
                input #actor type="text" name="actor" value=[filter.actor.as_deref()];
                label.block for="action" { "Thao tác" }
                input #action type="text" name="action" value=[filter.action.as_deref()];
                label.block for="target" { "Đối tượng" }
                input #target type="text" name="target" value=[filter.target.as_deref()];
                p {}
                button type="submit" { "Lọc" }
            }
            table.audit {
                thead { tr { th { "Thời gian" } th { "Người thực hiện" } th { "Thao tác" } th { "Đối tượng" } th { "Trước" } th { "Sau" } } }
                tbody {
                    @for e in entries {
                        tr {
                            td { (time(e.at)) } td { (e.actor) } td { (e.action) } td { (e.target) }
                            td { code { (e.before.as_deref().unwrap_or("")) } }
                            td { code { (e.after.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
            @if entries.is_empty() { p { "Không có mục nào." } }
        },
    )
}
