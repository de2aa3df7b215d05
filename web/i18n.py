"""Interface language: Simplified source strings, Traditional via OpenCC, locale choice, Shanghai time."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from starlette.requests import Request

from duban.script import LOCALES, SIMPLIFIED, TRADITIONAL, to_script, to_simplified

__all__ = ["LOCALES", "SIMPLIFIED", "TRADITIONAL", "to_script", "to_simplified"]
LOCALE_LABELS = {SIMPLIFIED: "简体", TRADITIONAL: "繁體"}
SHANGHAI = ZoneInfo("Asia/Shanghai")
_TRADITIONAL_TAGS = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")

# Every interface string, in Simplified Chinese; Traditional is derived, never written by hand.
MESSAGES: dict[str, str] = {
    "app.name": "督办",
    "app.title": "政策任务督查督办系统",
    "app.tagline": "政策落实 · 督查督办 · 考核评价",
    "app.footer": "督办系统 · 任务全程留痕，结果可追溯",
    "nav.home": "工作台",
    "nav.assignments": "任务收件箱",
    "nav.board": "逾期看板",
    "nav.escalations": "预警升级",
    "nav.reviews": "审核与延期",
    "nav.cockpit": "领导驾驶舱",
    "nav.leader": "分管事项",
    "nav.assessment": "考核评价",
    "nav.my_score": "本单位考核",
    "nav.policies": "政策文件",
    "nav.notifications": "消息通知",
    "nav.menu": "菜单",
    "nav.skip": "跳到正文",
    "nav.users": "用户管理",
    "nav.departments": "部门管理",
    "nav.section.work": "业务办理",
    "nav.section.admin": "系统管理",
    "auth.sign_in": "登录",
    "auth.sign_out": "退出登录",
    "auth.username": "用户名",
    "auth.password": "密码",
    "auth.welcome": "欢迎使用督办系统",
    "auth.hint": "请使用单位分配的账户登录",
    "auth.bad_credentials": "用户名或密码错误",
    "auth.signed_out": "您已安全退出",
    "auth.oidc": "统一身份认证登录",
    "auth.or": "或",
    "auth.oidc_failed": "统一身份认证登录未成功",
    "auth.oidc_failed_hint": "未创建或更改任何账户。如需开通或调整部门、角色，请联系系统管理员。",
    "auth.back_to_sign_in": "返回登录页",
    "auth.required": "请先登录",
    "auth.must_change": "首次登录请先修改初始密码",
    "auth.change_password": "修改密码",
    "auth.current_password": "当前密码",
    "auth.new_password": "新密码",
    "auth.confirm_password": "再次输入新密码",
    "auth.password_rules": "至少 8 个字符、4 个不同字符，不能是常见密码或用户名；修改后其他已登录的设备需重新登录，日历订阅链接需重新生成",
    "auth.password_mismatch": "两次输入的新密码不一致",
    "auth.password_changed": "密码已修改",
    "auth.password_expired": "密码已到期，请修改密码",
    "auth.second_factor": "两步验证",
    "auth.second_factor_required": "请完成两步验证",
    "auth.code": "验证码或恢复码",
    "auth.code_hint": "请输入验证器应用中的 6 位数字，或一个未用过的恢复码",
    "auth.verify": "验证",
    "auth.bad_code": "验证码错误或已使用",
    "auth.must_enrol": "您的角色须启用两步验证后才能继续",
    "auth.enrol_intro": "在验证器应用（如 FreeOTP、Google Authenticator、微信小程序“腾讯身份验证器”）中添加以下密钥，然后输入显示的 6 位数字",
    "auth.secret": "密钥",
    "auth.otpauth_uri": "配置链接",
    "auth.enabled": "两步验证已启用",
    "auth.codes_left": "剩余未用恢复码：{count} 个",
    "auth.recovery_codes": "恢复码",
    "auth.recovery_intro": "请抄写或打印以下恢复码并妥善保管。每个只能使用一次，本页关闭后不再显示",
    "auth.continue": "继续",
    "auth.sessions": "登录会话",
    "auth.sessions_intro": "以下是您账户当前有效的登录会话；不认识的请立即结束并修改密码",
    "auth.session_created": "登录时间",
    "auth.session_seen": "最近活动",
    "auth.session_address": "地址",
    "auth.session_agent": "浏览器",
    "auth.session_this": "当前会话",
    "auth.session_end": "结束",
    "auth.session_ended": "会话已结束",
    "admin.two_factor_on": "该用户已启用两步验证。手机丢失且恢复码用完时，可重置，其下次登录时重新绑定",
    "admin.two_factor_reset": "重置两步验证",
    "role.staff": "承办人",
    "role.head": "责任人",
    "role.supervisor": "督查室",
    "role.assessor": "考核办",
    "role.admin": "系统管理员",
    "role.leader": "分管领导",
    "role.staff.desc": "签收任务、填报进展、上传佐证材料、申请延期",
    "role.head.desc": "审核本部门报送、接收一级预警、对任务结果负责",
    "role.supervisor.desc": "查看逾期看板、审核报送、决定延期、一键催办",
    "role.assessor.desc": "维护评分细则、汇总考核结果、导出与发布排名",
    "role.admin.desc": "管理部门、用户与政策文件导入",
    "role.leader.desc": "接收分管单位的三级预警、查看逾期事项、作出批示",
    "home.greeting": "您好",
    "home.department": "所属部门",
    "home.role": "角色",
    "home.duties": "职责",
    "home.total": "任务总数",
    "home.green": "正常推进",
    "home.amber": "临近期限",
    "home.red": "已逾期",
    "home.done": "已完成",
    "home.users": "用户",
    "home.departments": "部门",
    "home.policies": "政策文件",
    "home.assignments": "督办任务",
    "home.quick": "快捷入口",
    "home.summary": "任务概况",
    "admin.users": "用户管理",
    "admin.departments": "部门管理",
    "admin.new_user": "新建用户",
    "admin.edit_user": "编辑用户",
    "admin.new_department": "新建部门",
    "admin.edit_department": "编辑部门",
    "admin.username": "用户名",
    "admin.display_name": "姓名",
    "admin.role": "角色",
    "admin.department": "部门",
    "admin.email": "电子邮箱",
    "admin.status": "状态",
    "admin.active": "启用",
    "admin.inactive": "已停用",
    "admin.actions": "操作",
    "admin.edit": "编辑",
    "admin.deactivate": "停用",
    "admin.activate": "启用",
    "admin.password": "初始密码",
    "admin.new_password": "重置密码（留空则不修改）",
    "admin.code": "部门代码",
    "admin.name": "部门名称",
    "admin.members": "在岗人数",
    "admin.known": "来源",
    "admin.registry": "规范名录",
    "admin.found": "文件识别",
    "admin.none": "—",
    "admin.save": "保存",
    "admin.cancel": "取消",
    "admin.created": "已创建",
    "admin.saved": "已保存",
    "admin.code_hint": "小写字母、数字或连字符，创建后不可修改，如 jl-fpb",
    "admin.department_hint": "承办人、责任人必须选择部门",
    "admin.count": "共 {n} 条",
    "common.language": "语言",
    "common.back": "返回",
    "error.title": "出错了",
    "error.back_home": "返回工作台",
    "error.not_found": "页面不存在",
    "error.method": "不支持该请求方法",
    "error.csrf": "页面已过期或请求来源不可信，请刷新页面后重试",
    "error.throttled": "登录失败次数过多，请 {minutes} 分钟后再试",
    "error.invalid": "提交的数据不符合要求",
    "error.temporal": "工作流服务暂时不可用，请稍后重试",
    "error.database": "数据库暂时不可用，请稍后重试",
    "error.forbidden": "您没有权限执行此操作",
    "error.token": "访问令牌无效或已过期，请重新获取",
}


@lru_cache(maxsize=1)
def _traditional_messages() -> dict[str, str]:
    """Return every interface string in Traditional script (a fixed set, converted once)."""
    return {key: to_script(text, TRADITIONAL) for key, text in MESSAGES.items()}


def t(key: str, locale: str = SIMPLIFIED, **params: object) -> str:
    """Return the interface string `key` in `locale`, with `{name}` parameters filled in."""
    if params:
        return to_script(MESSAGES.get(key, key).format(**params), locale)
    if locale == TRADITIONAL:
        return _traditional_messages().get(key) or to_script(key, locale)
    return MESSAGES.get(key, key)


def normalize_locale(value: str | None) -> str | None:
    """Map a language tag to zh-CN or zh-TW, or None when it is neither."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    if tag.startswith(_TRADITIONAL_TAGS):
        return TRADITIONAL
    if tag.startswith("zh"):
        return SIMPLIFIED
    return None


def from_accept_language(header: str | None) -> str | None:
    """Return the first Chinese locale of an Accept-Language header by quality."""
    choices: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        locale = normalize_locale(tag)
        if locale and weight > 0:
            choices.append((-weight, position, locale))
    return min(choices)[2] if choices else None


def request_locale(request: Request) -> str:
    """Choose the locale: saved preference, then the session switch, Accept-Language, zh-CN."""
    user = getattr(request.state, "user", None)
    saved = normalize_locale(getattr(user, "locale", None))
    if saved:
        return saved
    session = request.scope.get("session") or {}
    switched = normalize_locale(session.get("lang"))
    if switched:
        return switched
    return from_accept_language(request.headers.get("accept-language")) or SIMPLIFIED


def shanghai(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a UTC datetime in Asia/Shanghai time (dates pass through); None is a dash."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime(fmt)
    return value.strftime("%Y-%m-%d")
