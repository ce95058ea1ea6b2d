"""Every word the tray, the toasts, the warning window and the console show.

Written for a person who is not technical and may be on the phone with a
scammer right now: short sentences, no jargon, the action first.

The official warning is quoted with its source. Its wording follows the
anti-fraud tips published by the Supreme People's Procuratorate (最高人民检察院)
and the Ministry of Public Security (公安部) about false credit-reporting fraud
("adding friends to share the screen is a fixed routine"); IT can replace or
extend it with the policy key ``custom_message``.
"""

from __future__ import annotations

from typing import Iterable, List, Mapping

from agent import i18n

MESSAGES = i18n.register(__name__, {
    # --- the blocking warning -------------------------------------------------
    "warning.window_title": {
        "en": "ShareGuard: stop, this may be a scam",
        "zh_CN": "ShareGuard：请停下，这可能是诈骗",
    },
    "warning.headline": {
        "en": "STOP. Your screen may be watched by a stranger.",
        "zh_CN": "请停下！陌生人可能正在看您的屏幕。",
    },
    "warning.lead": {
        "en": "A bank or loan page is open while someone else can see or control this computer.",
        "zh_CN": "您打开了银行或贷款页面，而此刻别人可能正在看或操控这台电脑。",
    },
    "warning.detected_title": {
        "en": "What ShareGuard found:",
        "zh_CN": "ShareGuard 发现：",
    },
    "warning.frozen": {
        "en": "{apps} is frozen until you choose: the other person can no longer see or click on your screen.",
        "zh_CN": "在您做出选择之前，{apps} 已被冻结：对方现在看不到、也点不了您的屏幕。",
    },
    "warning.official_quote": {
        "en": "\u201cAdding friends to share the screen is a fixed routine of false credit-reporting fraud. "
              "Do not download video-chat or screen-sharing software to talk with strangers, and never "
              "operate a bank account on a shared screen.\u201d",
        "zh_CN": "\u201c添加好友共享屏幕，是虚假征信类诈骗的固定套路。不要下载视频聊天、屏幕共享软件与陌生人沟通，"
                 "切勿在屏幕共享状态下操作银行账户。\u201d",
    },
    "warning.official_source": {
        "en": "\u2014 Anti-fraud tips of the Supreme People's Procuratorate "
              "and the Ministry of Public Security of China",
        "zh_CN": "\u2014\u2014 最高人民检察院、公安部 反诈骗提示",
    },
    "warning.tip.official_number": {
        "en": "Real platform or bank staff never ask you to share your screen. Hang up and call the "
              "official number printed on your bank card or on the official website.",
        "zh_CN": "真正的平台或银行客服，绝不会让您共享屏幕。请挂断电话，拨打银行卡背面或官网上的官方电话核实。",
    },
    "warning.tip.credit_record": {
        "en": "Credit records are kept by the People's Bank of China. Nobody can delete or \u201crepair\u201d "
              "them for you, and no \u201ccampus loan\u201d has to be cancelled over the phone.",
        "zh_CN": "个人征信由中国人民银行征信中心记录，任何人都无法删除或\u201c修复\u201d，"
                 "也没有什么\u201c校园贷\u201d需要通过电话注销。",
    },
    "warning.tip.no_transfer": {
        "en": "Never transfer money to a stranger's \u201csafe account\u201d.",
        "zh_CN": "绝不要向陌生人提供的\u201c安全账户\u201d转账。",
    },
    "warning.help_url": {
        "en": "Your organisation's help page: {url}",
        "zh_CN": "本单位的帮助页面：{url}",
    },
    "warning.hotline": {
        "en": "Not sure? Call the anti-fraud hotline {hotlines}, or your bank's official number.",
        "zh_CN": "拿不准？请拨打反诈专线 {hotlines}，或银行官方客服电话。",
    },
    "warning.safe_choice": {
        "en": "The safe choice: press \u201cStop sharing now\u201d, then hang up the phone.",
        "zh_CN": "最安全的做法：点击\u201c立即停止共享\u201d，然后挂断电话。",
    },
    "warning.button.stop": {
        "en": "Stop sharing now",
        "zh_CN": "立即停止共享",
    },
    "warning.button.continue": {
        "en": "I know this person \u2014 continue",
        "zh_CN": "我认识对方，继续",
    },
    "warning.button.continue_wait": {
        # No-break spaces: the countdown must never wrap away from its number.
        "en": "I know this person \u2014 continue ({seconds}\u00a0s)",
        "zh_CN": "我认识对方，继续（{seconds}\u00a0秒）",
    },
    "warning.button.hotline": {
        "en": "Call the anti-fraud hotline {hotline}",
        "zh_CN": "拨打反诈专线 {hotline}",
    },
    "warning.hotline_shown": {
        "en": "Call {hotline} from your phone now. Tell them someone asked you to share your screen.",
        "zh_CN": "请现在用手机拨打 {hotline}，告诉对方有人让您共享屏幕。",
    },
    "warning.other_monitor": {
        "en": "ShareGuard warning: please read the other screen",
        "zh_CN": "ShareGuard 警告：请看另一块屏幕",
    },
    "warning.other_monitor.left": {
        "en": "\u2190 ShareGuard warning: please read the screen on the left",
        "zh_CN": "\u2190 ShareGuard 警告：请看左边的屏幕",
    },
    "warning.other_monitor.right": {
        "en": "ShareGuard warning: please read the screen on the right \u2192",
        "zh_CN": "ShareGuard 警告：请看右边的屏幕 \u2192",
    },
    "warning.other_monitor.up": {
        "en": "\u2191 ShareGuard warning: please read the screen above",
        "zh_CN": "\u2191 ShareGuard 警告：请看上面的屏幕",
    },
    "warning.other_monitor.down": {
        "en": "ShareGuard warning: please read the screen below \u2193",
        "zh_CN": "ShareGuard 警告：请看下面的屏幕 \u2193",
    },
    # --- what was detected, by name ------------------------------------------
    "detect.share.sharing": {
        "en": "{app} is sharing your screen",
        "zh_CN": "{app} 正在共享您的屏幕",
    },
    # A page shares one browser tab, not the screen (docs/detection.md section 3).
    "detect.share.sharing_tab": {
        "en": "{app} is sharing a browser tab",
        "zh_CN": "{app} 正在共享一个浏览器标签页",
    },
    "detect.share.in_session.remote_control": {
        "en": "{app} remote control is active",
        "zh_CN": "{app} 正在远程控制这台电脑",
    },
    "detect.share.in_session": {
        "en": "{app} is in a meeting or call",
        "zh_CN": "{app} 正在会议或通话中",
    },
    "detect.share.running": {
        "en": "{app} is running",
        "zh_CN": "{app} 正在运行",
    },
    "detect.sensitive": {
        "en": "{name} is open",
        "zh_CN": "{name} 已打开",
    },
    # A page posing as the institution (docs/detection.md): say plainly it is not theirs.
    "detect.sensitive.impersonation": {
        "en": "A page pretends to be {name}: it is NOT {name}'s own website",
        "zh_CN": "有网页冒充{name}：它不是{name}的官方网站",
    },
    "detect.sensitive.shared": {
        "en": "The tab being shared shows {name}",
        "zh_CN": "正在共享的标签页是 {name}",
    },
    # The site is the registrable domain only, never a full address (docs/privacy.md).
    "detect.sensitive.shared_site": {
        "en": "The tab being shared shows {name} ({site})",
        "zh_CN": "正在共享的标签页是 {name}（{site}）",
    },
    # --- toasts -----------------------------------------------------------------
    "toast.first_seen.title": {
        "en": "First time on this computer: {app}",
        "zh_CN": "这台电脑上第一次出现 {app}",
    },
    "toast.first_seen.body": {
        "en": "{app} can let other people see or control your screen. Real platform customer service never "
              "asks you to download meeting software. If a stranger asked you to install it, hang up.",
        "zh_CN": "{app} 可以让别人看到或操控您的屏幕。真正的平台客服，绝不会让您下载会议软件。"
                 "如果是陌生人让您安装的，请立即挂断。",
    },
    "toast.warning.title": {
        "en": "Careful: {app} is running and {sensitive} is open",
        "zh_CN": "小心：{app} 正在运行，您打开了 {sensitive}",
    },
    "toast.warning.body": {
        "en": "Never use a bank account while someone else can see or control your screen. "
              "If a stranger is guiding you, hang up.",
        "zh_CN": "别人能看到或操控您的屏幕时，切勿操作银行账户。如果是陌生人在电话里指挥您，请立即挂断。",
    },
    "toast.impersonation.title": {
        "en": "Careful: this page pretends to be {name}",
        "zh_CN": "小心：这个网页在冒充{name}",
    },
    "toast.impersonation.body": {
        "en": "It is not {name}'s own website. Do not log in, transfer money or enter codes there. Banks and the "
              "central bank never ask you to cancel a \u201ccampus loan\u201d or fix your credit record online.",
        "zh_CN": "它不是{name}的官方网站。不要在上面登录、转账或输入验证码。银行和中国人民银行绝不会让您在网上"
                 "注销\u201c校园贷\u201d或处理征信。",
    },
    "toast.ended.title": {
        "en": "Sharing stopped",
        "zh_CN": "已停止共享",
    },
    "toast.ended.body": {
        "en": "Ended: {apps}",
        "zh_CN": "已结束：{apps}",
    },
    "toast.unavailable": {
        "en": "No notification service on this desktop: notices show in the tray tooltip instead",
        "zh_CN": "此桌面没有通知服务：提醒将显示在托盘图标的提示中",
    },
    # --- the tray ---------------------------------------------------------------
    "tray.state.watching": {
        "en": "ShareGuard: watching, no screen sharing",
        "zh_CN": "ShareGuard：守护中，没有屏幕共享",
    },
    "tray.state.share": {
        "en": "ShareGuard: {shares}",
        "zh_CN": "ShareGuard：{shares}",
    },
    "tray.state.alert": {
        "en": "ShareGuard ALERT: {details}",
        "zh_CN": "ShareGuard 警报：{details}",
    },
    "tray.state.careful": {
        "en": "ShareGuard, careful: {details}",
        "zh_CN": "ShareGuard 注意：{details}",
    },
    "tray.state.paused": {
        "en": "ShareGuard: paused until {until}",
        "zh_CN": "ShareGuard：已暂停，{until} 恢复",
    },
    "tray.menu.pause_15": {"en": "Pause for 15 minutes", "zh_CN": "暂停 15 分钟"},
    "tray.menu.pause_60": {"en": "Pause for 1 hour", "zh_CN": "暂停 1 小时"},
    "tray.menu.resume": {"en": "Resume now", "zh_CN": "立即恢复"},
    "tray.menu.pause_forbidden": {"en": "Pausing is disabled by your organisation", "zh_CN": "您的单位已禁止暂停"},
    "tray.menu.log_folder": {"en": "Open the event log folder", "zh_CN": "打开事件日志文件夹"},
    "tray.menu.help": {"en": "What does ShareGuard protect against?", "zh_CN": "ShareGuard 防什么骗局？"},
    "tray.menu.quit": {"en": "Quit ShareGuard", "zh_CN": "退出 ShareGuard"},
    "tray.menu.quit_forbidden": {"en": "Quitting is disabled by your organisation", "zh_CN": "您的单位已禁止退出"},
    "help.title": {"en": "What ShareGuard guards against", "zh_CN": "ShareGuard 防什么"},
    "help.body": {
        "en": "Scammers pretend to be platform or bank customer service. They say your \u201ccampus loan\u201d or "
              "credit record must be fixed, ask you to install meeting or remote-control software and share "
              "your screen, then watch your passwords and codes and move your money.\n\n"
              "ShareGuard watches for screen sharing and remote control. When a bank, loan, payment or "
              "credit page is open on a shared screen, it covers the screen, freezes the remote tool and "
              "lets you stop the sharing.",
        "zh_CN": "骗子会冒充平台或银行客服，说您的\u201c校园贷\u201d或征信需要处理，"
                 "让您安装会议或远程控制软件并共享屏幕，"
                 "然后偷看您的密码和验证码，转走您的钱。\n\n"
                 "ShareGuard 会留意屏幕共享和远程控制。当银行、贷款、支付或征信页面出现在被共享的屏幕上时，"
                 "它会盖住屏幕、冻结远程软件，并让您一键停止共享。",
    },
    "help.close": {"en": "Close", "zh_CN": "关闭"},
    # --- console mode ----------------------------------------------------------------
    "console.no_display": {
        "en": "No graphical display found ({why}): running in console mode. Warnings are printed here.",
        "zh_CN": "没有找到图形显示（{why}）：以控制台模式运行，警告会显示在这里。",
    },
    "console.alert": {
        "en": "ALERT: {details}. Stop now: do not operate a bank account on a shared screen.",
        "zh_CN": "警报：{details}。请立即停止：切勿在共享屏幕时操作银行账户。",
    },
    "console.alert_over": {"en": "Alert over.", "zh_CN": "警报解除。"},
    "console.notice": {"en": "Notice: {details}", "zh_CN": "提醒：{details}"},
    "console.first_seen": {"en": "First time on this computer: {body}", "zh_CN": "这台电脑上第一次出现：{body}"},
    "console.shares": {"en": "Now: {shares}", "zh_CN": "当前：{shares}"},
    "console.no_shares": {"en": "No screen sharing or remote control.", "zh_CN": "没有屏幕共享或远程控制。"},
    "console.frozen": {"en": "Frozen: {apps}", "zh_CN": "已冻结：{apps}"},
    "console.unavailable": {"en": "Cannot see: {what}", "zh_CN": "无法读取：{what}"},
    "list.separator": {"en": ", ", "zh_CN": "、"},
})


def t(key: str, lang: str, **values: object) -> str:
    """Shorthand for :func:`agent.i18n.tr` on this module's table."""
    return i18n.tr(MESSAGES, key, lang, **values)


def join(items: Iterable[str], lang: str) -> str:
    """Join names the way the language lists them (``A, B`` / ``A、B``)."""
    return t("list.separator", lang).join(items)


def describe_share(share: Mapping, lang: str) -> str:
    """One line naming a share: "ToDesk remote control is active", "Chromium is sharing a browser tab"."""
    state, kind = share.get("state", "running"), share.get("kind", "")
    app = share.get("name") or share.get("app") or "?"
    key = f"detect.share.{state}.{kind}"
    if state == "sharing" and share.get("surface") == "browser":
        key = "detect.share.sharing_tab"
    elif key not in MESSAGES:
        key = f"detect.share.{state}"
    return t(key, lang, app=app)


def sensitive_name(item: Mapping, lang: str) -> str:
    """A finance context's name in ``lang`` (the Chinese name unless an English one exists)."""
    if lang == "en" and item.get("name_en"):
        return str(item["name_en"])
    return str(item.get("name") or item.get("id") or "?")


def describe_sensitive(item: Mapping, lang: str) -> str:
    """One line naming a finance context: "中国工商银行 is open", or plainly that a page
    only pretends to be it, or that it is the tab being shared."""
    name = sensitive_name(item, lang)
    if item.get("basis") == "impersonation":
        return t("detect.sensitive.impersonation", lang, name=name)
    if item.get("shared") and item.get("site"):
        return t("detect.sensitive.shared_site", lang, name=name, site=item["site"])
    if item.get("shared"):
        return t("detect.sensitive.shared", lang, name=name)
    return t("detect.sensitive", lang, name=name)


def detected_lines(view: Mapping, lang: str) -> List[str]:
    """The warning's "what was found" lines: blocking shares first, then finance windows."""
    shares = view.get("blocking") or view.get("shares") or []
    lines = [describe_share(s, lang) for s in shares]
    lines += [describe_sensitive(s, lang) for s in view.get("sensitive") or []]
    return lines


def official_tips(lang: str) -> List[str]:
    """The other official tips shown under the quote."""
    return [t(k, lang) for k in ("warning.tip.official_number", "warning.tip.credit_record",
                                 "warning.tip.no_transfer")]
