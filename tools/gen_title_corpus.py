"""Generate tests/fixtures/title_corpus.yaml: real title formats crossed with real institution names.

The formats are the ones real sites, browsers and apps put in window titles (a news site's name
after the headline, "_百度搜索", "- Google Chrome", Edge's zero-width space); the names are the
institutions' own. Nothing is read from signatures/. Run: python tools/gen_title_corpus.py
"""

import os

import yaml

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "title_corpus.yaml")

cases = []


def add(title, expect, kind, lang, id=None, category=None, process=None, url=None, platform=None):
    c = {"title": title, "expect": expect, "kind": kind, "lang": lang}
    if id:
        c["id"] = id
    if category:
        c["category"] = category
    if process:
        c["process"] = process
    if url:
        c["url"] = url
    if platform:
        c["platform"] = platform
    cases.append(c)


# ---------------------------------------------------------------- own pages, apps (zh-CN)
BROWSERS_ZH = [
    ("{} - Google Chrome", "chrome.exe", None),
    ("{} - 个人 - Microsoft\u200b Edge", "msedge.exe", None),
    ("{} - 360安全浏览器 15.3", "360se.exe", None),
    ("{} - QQ浏览器", "QQBrowser.exe", None),
    ("{} — Mozilla Firefox", "firefox", "linux"),
    ("{} - 搜狗高速浏览器", "SogouExplorer.exe", None),
    ("{} - 2345加速浏览器", "2345Explorer.exe", None),
    ("{} - 猎豹安全浏览器", "liebao.exe", None),
    ("{} - 联想浏览器", "SLBrowser.exe", None),
    ("{} 和另外 2 个页面 - 工作 - Microsoft\u200b Edge", "msedge.exe", None),
    ("{}", "Safari", "darwin"),
    ("{} - Chromium", "chromium", "linux"),
]
OWN_ZH = [
    ("招商银行一网通", "cmb", "bank"),
    ("招商银行 - 个人网上银行", "cmb", "bank"),
    ("中国工商银行个人网上银行", "icbc", "bank"),
    ("中国工商银行中国网站", "icbc", "bank"),
    ("中国建设银行 - 个人网上银行", "ccb", "bank"),
    ("中国农业银行个人网银", "abc", "bank"),
    ("交通银行个人网上银行", "bocom", "bank"),
    ("中国银行网上银行", "boc", "bank"),
    ("浦发银行个人网银登录", "spdb", "bank"),
    ("中信银行 - 个人网银", "citic_bank", "bank"),
    ("平安银行 - 个人网上银行登录", "pingan_bank", "bank"),
    ("兴业银行个人网上银行", "cib", "bank"),
    ("民生银行个人网银", "cmbc", "bank"),
    ("华夏银行 - 个人网银", "hxb", "bank"),
    ("北京银行个人网上银行", "bank_of_beijing", "bank"),
    ("上海银行 - 个人网银登录", "bank_of_shanghai", "bank"),
    ("宁波银行个人网银", "bank_of_ningbo", "bank"),
    ("中国邮政储蓄银行 - 个人网银", "psbc", "bank"),
    ("光大银行 - 个人网银", "ceb", "bank"),
    ("广发银行个人网银", "cgb", "bank"),
    ("支付宝 - 网上支付 安全快速！", "alipay", "payment"),
    ("支付宝 - 登录", "alipay", "payment"),
    ("微信支付商户平台", "wechat_pay", "payment"),
    ("云闪付 - 银联", "unionpay", "payment"),
    ("京东支付 - 安全便捷", "jdpay", "payment"),
    ("翼支付", "bestpay", "payment"),
    ("借呗 - 支付宝", "jiebei", "loan"),
    ("花呗账单", "huabei", "loan"),
    ("京东金融 - 白条", "jd_finance", "loan"),
    ("京东金条 - 借钱", "jd_jintiao", "loan"),
    ("微粒贷借钱", "weilidai", "loan"),
    ("度小满金融 - 有钱花", "duxiaoman", "loan"),
    ("360借条 - 官方网站", "qifu_jietiao", "loan"),
    ("招联金融 - 好期贷", "mucfc", "loan"),
    ("分期乐商城", "fenqile", "loan"),
    ("安逸花 - 马上消费金融", "anyihua", "loan"),
    ("个人信用信息服务平台", "pbccrc", "credit_report"),
    ("中国人民银行征信中心", "pbccrc", "credit_report"),
    ("百行征信", "baihang_credit", "credit_report"),
    ("东方财富网：财经门户", "eastmoney", "investment"),
    ("中信证券 - 信e投", "citic_securities", "investment"),
    ("腾讯理财通", "licaitong", "investment"),
    ("蚂蚁财富 - 基金", "ant_fortune", "investment"),
    ("富途牛牛 - 登录", "futu", "investment"),
]
for i, (page, id_, cat) in enumerate(OWN_ZH):
    fmt, proc, plat = BROWSERS_ZH[i % len(BROWSERS_ZH)]
    add(fmt.format(page), "own", "own-page", "zh-CN", id_, cat, proc, platform=plat)
# native apps' windows
add("同花顺(v9.30.40) - 行情中心", "own", "own-app", "zh-CN", "tonghuashun", "investment", "hexin.exe")
add("通达信金融终端", "own", "own-app", "zh-CN", "tongdaxin", "investment", "TdxW.exe")
add("招商银行", "own", "own-app", "zh-CN", "cmb", "bank", "WeChatAppEx.exe")  # a WeChat mini program window

# ---------------------------------------------------------------- own (zh-TW / HK)
OWN_TW = [
    ("玉山銀行 - 個人網路銀行", "esun_bank", "bank"),
    ("臺灣銀行 - 網路銀行", "bank_of_taiwan", "bank"),
    ("中國信託 - 網路銀行登入", "ctbc", "bank"),
    ("國泰世華銀行 - 網路銀行", "cathay_united", "bank"),
    ("中國銀行(香港) - 網上銀行", "bochk", "bank"),
    ("恒生銀行 - 網上銀行登入", "hang_seng_bank", "bank"),
    ("中國工商銀行 - 個人網上銀行", "icbc", "bank"),
    ("中國建設銀行 - 網上銀行", "ccb", "bank"),
    ("招商銀行 - 網上銀行", "cmb", "bank"),
    ("交通銀行 - 網上銀行", "bocom", "bank"),
]
for i, (page, id_, cat) in enumerate(OWN_TW):
    fmt, proc, plat = BROWSERS_ZH[(i * 3) % len(BROWSERS_ZH)]
    add(fmt.format(page), "own", "own-page", "zh-TW", id_, cat, proc, platform=plat)

# ---------------------------------------------------------------- own (en)
BROWSERS_EN = [
    ("{} - Google Chrome", "chrome.exe", None),
    ("{} - Personal - Microsoft\u200b Edge", "msedge.exe", None),
    ("{} — Mozilla Firefox", "firefox.exe", None),
    ("{} - Brave", "brave.exe", None),
    ("{} - Opera", "opera.exe", None),
    ("{} - Vivaldi", "vivaldi.exe", None),
    ("{}", "Safari", "darwin"),
    ("{} — LibreWolf", "librewolf", "linux"),
    ("{} — Waterfox", "waterfox.exe", None),
    ("{} - Yandex Browser", "browser.exe", None),
]
OWN_EN = [
    ("Chase Online - Logon", "jpmorgan_chase", "bank"),
    ("Bank of America | Online Banking | Sign In", "bank_of_america", "bank"),
    ("Wells Fargo – Sign On to View Your Accounts", "wells_fargo", "bank"),
    ("Citi.com - Sign On", "citi", "bank"),
    ("Capital One | Credit Cards, Checking, Savings & Auto Loans", "capital_one", "bank"),
    ("HSBC UK - Personal Banking", "hsbc", "bank"),
    ("Barclays | Log in to Online Banking", "barclays", "bank"),
    ("Lloyds Bank - Internet Banking Log On", "lloyds", "bank"),
    ("NatWest Online Banking - Log in", "natwest", "bank"),
    ("Monzo – Banking made easy", "monzo", "bank"),
    ("Revolut – Log in", "revolut", "bank"),
    ("NetBank - Log on to NetBank", "commbank", "bank"),
    ("EasyWeb Login | TD Canada Trust", "td", "bank"),
    ("DBS digibank - Login", "dbs", "bank"),
    ("OCBC Internet Banking - Login", "ocbc", "bank"),
    ("PayPal: Log in to your account", "paypal", "payment"),
    ("Venmo - Log in", "venmo", "payment"),
    ("Wise – Log in", "wise", "payment"),
    ("Cash App - Sign In", "cash_app", "payment"),
    ("Klarna – Log in", "klarna", "payment"),
    ("SoFi - Log In", "sofi", "bank"),
    ("Federal Student Aid - Log In", "student_aid_us", "loan"),
    ("Experian - Free Credit Report", "experian", "credit_report"),
    ("Equifax - myEquifax Sign In", "equifax", "credit_report"),
    ("TransUnion - Credit Report Login", "transunion", "credit_report"),
    ("Credit Karma: Free Credit Score", "credit_karma", "credit_report"),
    ("AnnualCreditReport.com - Home Page", "annual_credit_report", "credit_report"),
    ("Fidelity Investments - Log In", "fidelity", "investment"),
    ("Vanguard - Log on to your account", "vanguard", "investment"),
    ("Charles Schwab | Log In", "schwab", "investment"),
    ("Robinhood - Log in", "robinhood", "investment"),
    ("Coinbase - Sign In", "coinbase", "investment"),
]
for i, (page, id_, cat) in enumerate(OWN_EN):
    fmt, proc, plat = BROWSERS_EN[i % len(BROWSERS_EN)]
    add(fmt.format(page), "own", "own-page", "en", id_, cat, proc, platform=plat)

# own by URL (the browser companion), unhelpful titles
OWN_URL = [
    ("Login", "https://ebank.cmbchina.com/login", "cmb", "bank", "zh-CN"),
    ("登录", "https://mybank.icbc.com.cn/icbc/newperbank/perbank3/frame/frame_index.jsp", "icbc", "bank", "zh-CN"),
    ("首页", "https://www.abchina.com/cn/", "abc", "bank", "zh-CN"),
    ("Sign in", "https://secure.chase.com/web/auth/dashboard", "jpmorgan_chase", "bank", "en"),
    ("Log in", "https://www.paypal.com/signin", "paypal", "payment", "en"),
    ("个人信用报告", "https://ipcrs.pbccrc.org.cn/", "pbccrc", "credit_report", "zh-CN"),
    ("Dashboard", "https://www.fidelity.com/", "fidelity", "investment", "en"),
    ("我的账单", "https://jr.jd.com/", "jd_finance", "loan", "zh-CN"),
    ("網路銀行", "https://ebank.esunbank.com.tw/", "esun_bank", "bank", "zh-TW"),
]
for title, url, id_, cat, lang in OWN_URL:
    add(title, "own", "own-url", lang, id_, cat, url=url)

# ---------------------------------------------------------------- mentions (zh-CN)
NAMES_ZH = [
    "招商银行",
    "工商银行",
    "建设银行",
    "农业银行",
    "中国银行",
    "交通银行",
    "平安银行",
    "浦发银行",
    "中信银行",
    "兴业银行",
    "支付宝",
    "微信支付",
    "云闪付",
    "花呗",
    "借呗",
    "京东白条",
    "微粒贷",
    "度小满",
    "东方财富",
    "同花顺",
    "征信中心",
    "百行征信",
    "中信证券",
    "富途牛牛",
]
MENTION_ZH = [
    ("news", "{}2025年半年报：净利润同比增长 - 财联社"),
    ("news", "{}下调存款利率_手机新浪网"),
    ("news", "{}回应系统升级问题 | 界面新闻"),
    ("news", "{}发布新规，6月起执行_手机搜狐网"),
    ("news", "{}数字化转型提速-中国经济网"),
    ("news", "{}今日股价大涨 | 华尔街见闻"),
    ("news", "关于{}服务调整的公告解读 - 澎湃新闻"),
    ("news", "{}再获评级上调_凤凰网财经"),
    ("news", "{}交出成绩单 - 21财经"),
    ("search", "{} - 搜索"),
    ("search", "{}_百度搜索"),
    ("search", "{} - 搜狗搜索"),
    ("search", "{} - Google 搜索"),
    ("search", "{}登录_360搜索"),
    ("search", "{}客服电话 - 国内版 Bing"),
    ("social", "{}的微博_微博"),
    ("social", "{} - 小红书"),
    ("social", "{}的抖音 - 抖音"),
    ("social", "{}官方账号 - 今日头条"),
    ("reviews", "【{}(北京分行营业部)】电话,地址,营业时间-北京生活服务-大众点评网"),
    ("reviews", "{}怎么样？ - 知乎"),
    ("reviews", "{}靠谱吗 - 百度知道"),
    ("maps", "{}(南京分行) - 高德地图"),
    ("maps", "{} - 百度地图"),
    ("maps", "{}(上海分行) - 腾讯地图"),
    ("video", "{}使用教程_哔哩哔哩_bilibili"),
    ("video", "{}开户全流程-西瓜视频"),
    ("video", "{}操作指南_腾讯视频"),
    ("docs", "{}客户对接表 - 腾讯文档"),
    ("docs", "{}项目周报 - 飞书云文档"),
    ("docs", "{}合作方案 - 石墨文档"),
    ("docs", "{}开放平台文档中心"),
    ("image", "{}电子回单.png – 照片"),
    ("image", "{}流水截图.jpg - 看图王"),
    ("mail", "{}电子账单 - QQ邮箱"),
    ("mail", "{}对账单通知 - 网易邮箱6.0版"),
    ("elearning", "{}业务培训课程 - 网易云课堂"),
    ("elearning", "网上银行安全与{}业务 - 中国大学MOOC(慕课)"),
    ("encyclopedia", "{}_百度百科"),
    ("encyclopedia", "{} - 维基百科，自由的百科全书"),
    ("jobs", "{}2026校园招聘 - 智联招聘"),
    ("jobs", "{}招聘信息 - BOSS直聘"),
]
for i, (kind, fmt) in enumerate(MENTION_ZH):
    for j in range(2):
        name = NAMES_ZH[(i * 2 + j * 7) % len(NAMES_ZH)]
        bfmt, proc, plat = BROWSERS_ZH[(i + j) % len(BROWSERS_ZH)]
        if kind in ("image",):
            proc, plat, title = (
                ("Microsoft.Photos.exe", None, fmt.format(name))
                if "照片" in fmt
                else ("2345PicViewer.exe", None, fmt.format(name))
            )
        else:
            title = bfmt.format(fmt.format(name))
        add(title, "mention", kind, "zh-CN", process=proc, platform=plat)
# chat / IDE / office windows (their apps only mention)
for title, proc in [
    ("工商银行 客户经理", "WeChat.exe"),
    ("招商银行对接群", "WXWork.exe"),
    ("平安银行项目组", "DingTalk.exe"),
    ("建设银行-周会", "Feishu.exe"),
    ("支付宝技术交流群", "QQ.exe"),
    ("花呗分期对账", "Weixin.exe"),
    ("AlipayClient.java - payment-service - IntelliJ IDEA", "idea64.exe"),
    ("icbc_export.py - bank-tools - Visual Studio Code", "Code.exe"),
    ("招商银行流水.xlsx - Excel", "EXCEL.EXE"),
    ("征信报告.pdf - WPS Office", "wps.exe"),
    ("中信证券开户资料.docx - Word", "WINWORD.EXE"),
]:
    add(
        title,
        "mention",
        "chat"
        if proc.startswith(("We", "WX", "Ding", "Fei", "QQ"))
        else ("ide" if proc in ("idea64.exe", "Code.exe") else "docs"),
        "zh-CN",
        process=proc,
    )

# ---------------------------------------------------------------- mentions (zh-TW)
NAMES_TW = ["玉山銀行", "國泰世華銀行", "中國信託", "臺灣銀行", "恒生銀行", "中國銀行(香港)"]
MENTION_TW = [
    ("news", "{}調升定存利率｜聯合新聞網"),
    ("news", "{}公布上半年獲利 - 自由財經"),
    ("news", "{}數位轉型 | 經濟日報"),
    ("news", "{}推新卡 - Yahoo奇摩新聞"),
    ("search", "{} - Google 搜尋"),
    ("encyclopedia", "{} - 維基百科，自由的百科全書"),
    ("maps", "{} - Google 地圖"),
    ("social", "{} | Facebook"),
    ("video", "{}信用卡教學 - YouTube"),
    ("reviews", "{}評價 - PTT"),
]
for i, (kind, fmt) in enumerate(MENTION_TW):
    for j in range(2):
        name = NAMES_TW[(i + j * 3) % len(NAMES_TW)]
        bfmt, proc, plat = BROWSERS_ZH[(i * 2 + j) % len(BROWSERS_ZH)]
        add(bfmt.format(fmt.format(name)), "mention", kind, "zh-TW", process=proc, platform=plat)

# ---------------------------------------------------------------- mentions (en)
NAMES_EN = [
    "Chase",
    "Bank of America",
    "Wells Fargo",
    "Citi",
    "Capital One",
    "HSBC",
    "Barclays",
    "Lloyds",
    "Monzo",
    "Revolut",
    "PayPal",
    "Venmo",
    "Wise",
    "Klarna",
    "SoFi",
    "Experian",
    "Equifax",
    "Credit Karma",
    "Fidelity",
    "Vanguard",
    "Robinhood",
    "Coinbase",
]
MENTION_EN = [
    ("news", "{} profit beats estimates as rates stay high - Reuters"),
    ("news", "{} to cut 300 jobs - BBC News"),
    ("news", "{} shares fall after earnings | CNBC"),
    ("news", "{} hit with fine over compliance failures - The Guardian"),
    ("search", "{} login - Google Search"),
    ("search", "{} customer service - Bing"),
    ("search", "{} at DuckDuckGo"),
    ("social", "{} (@{}) / X"),
    ("social", "{} | LinkedIn"),
    ("social", "r/personalfinance - Is {} safe? - Reddit"),
    ("reviews", "{} Reviews | Read Customer Service Reviews | Trustpilot"),
    ("reviews", "{} review 2025 - NerdWallet"),
    ("maps", "{} - Google Maps"),
    ("video", "How to use {} - YouTube"),
    ("video", "{} explained in 5 minutes - YouTube"),
    ("docs", "{} account reconciliation - Google Sheets"),
    ("docs", "{} API reference | Developer Docs"),
    ("docs", "{} integration notes - Confluence"),
    ("mail", "Your {} statement is ready - alice@example.com - Gmail"),
    ("mail", "Fwd: {} wire instructions - Outlook"),
    ("elearning", "Online Banking with {} | Coursera"),
    ("elearning", "{} for beginners | Udemy"),
    ("encyclopedia", "{} - Wikipedia"),
    ("jobs", "{} Careers - Software Engineer"),
    ("sport", "{} Championship 2025 | DP World Tour"),
]
for i, (kind, fmt) in enumerate(MENTION_EN):
    for j in range(2):
        name = NAMES_EN[(i * 3 + j * 5) % len(NAMES_EN)]
        bfmt, proc, plat = BROWSERS_EN[(i + j) % len(BROWSERS_EN)]
        title = fmt.format(name, name.replace(" ", "")) if fmt.count("{}") == 2 else fmt.format(name)
        add(bfmt.format(title), "mention", kind, "en", process=proc, platform=plat)
for title, proc, plat in [
    ("Chase weekly sync | Microsoft Teams", "ms-teams.exe", None),
    ("HSBC deal room - Slack", "slack.exe", None),
    ("PayPalCheckout.swift — Xcode", "Xcode", "darwin"),
    ("wells_fargo_export.py - scripts - Visual Studio Code", "Code.exe", None),
    ("barclays_statement.pdf - Adobe Acrobat Reader (64-bit)", "Acrobat.exe", None),
    ("Revolut screenshot.png - Photos", "Microsoft.Photos.exe", None),
    ("Venmo payouts - Telegram", "Telegram.exe", None),
    ("Capital One card - WhatsApp", "WhatsApp.exe", None),
]:
    add(
        title,
        "mention",
        "chat"
        if proc in ("ms-teams.exe", "slack.exe", "Telegram.exe", "WhatsApp.exe")
        else ("ide" if proc in ("Xcode", "Code.exe") else "image"),
        "en",
        process=proc,
        platform=plat,
    )

# ---------------------------------------------------------------- impersonation
CITIES = ["天津", "北京", "上海", "广州", "深圳", "成都", "武汉", "西安"]
for c in CITIES:
    add(
        f"中国人民银行{c}分行 - 在线服务",
        "impersonation",
        "impersonation",
        "zh-CN",
        "pbc",
        "credit_report",
        "chrome.exe",
    )
    add(
        f"中国人民银行{c}市中心支行 - 客服中心",
        "impersonation",
        "impersonation",
        "zh-CN",
        "pbc",
        "credit_report",
        "msedge.exe",
    )
add("国家金融监督管理总局 - 在线客服", "impersonation", "impersonation", "zh-CN", "nfra", "credit_report", "chrome.exe")
add("银保监会 - 注销校园贷账户", "impersonation", "impersonation", "zh-CN", "nfra", "credit_report", "360se.exe")
add("中国证监会 - 账户核实", "impersonation", "impersonation", "zh-CN", "csrc", "credit_report", "chrome.exe")
add("征信中心 - 注销校园贷", "impersonation", "lure", "zh-CN", "pbccrc", "credit_report", "chrome.exe")
add("个人征信修复 - 在线客服", "impersonation", "lure", "zh-CN", None, "credit_report", "chrome.exe")
add("注销校园贷 - 客服中心", "impersonation", "lure", "zh-CN", "lure-campus-loan", "credit_report", "chrome.exe")
add(
    "关闭借贷功能 - 官方客服",
    "impersonation",
    "lure",
    "zh-CN",
    "lure-cancel-loan-account",
    "credit_report",
    "msedge.exe",
)
add("京东金条账户注销 - 清空额度", "impersonation", "lure", "zh-CN", None, "credit_report", "chrome.exe")
add("Cancel your campus loan - Support", "impersonation", "lure", "en", None, "credit_report", "chrome.exe")
add("中國人民銀行 - 線上客服", "impersonation", "impersonation", "zh-TW", "pbc", "credit_report", "chrome.exe")
for plat_name, id_, cat in [
    ("京东金融", "jd_finance", "loan"),
    ("支付宝", "alipay", "payment"),
    ("微粒贷", "weilidai", "loan"),
    ("京东白条", "jd_baitiao", "loan"),
    ("花呗", "huabei", "loan"),
]:
    add(f"{plat_name}官方客服中心 - 客服之家网", "impersonation", "impersonation", "zh-CN", id_, cat, "chrome.exe")
    add(f"{plat_name}官方客服 - 2406578.top", "impersonation", "throwaway", "zh-CN", id_, cat, "chrome.exe")
for title, url, id_, cat, lang in [
    ("中国人民银行天津分行", "http://2406578.top/", "pbc", "credit_report", "zh-CN"),
    ("招商银行 - 登录", "https://cmb-vip88.top/login", "cmb", "bank", "zh-CN"),
    ("中国工商银行个人网上银行", "https://icbc-secure-login.com/", "icbc", "bank", "zh-CN"),
    ("Login", "https://icbc-verify.com/", "icbc", "bank", "en"),
    ("Chase | Sign in", "https://chase-secure-verify.com/", "jpmorgan_chase", "bank", "en"),
    ("PayPal: Log in to your account", "https://paypal-resolution-center.net/", "paypal", "payment", "en"),
    ("登录", "http://8823741.xyz/", None, "credit_report", "zh-CN"),
    ("个人征信查询 - 在线客服", "http://5538612.vip/", None, "credit_report", "zh-CN"),
    ("国家金融监督管理总局 - 在线客服", "https://nfra-kf.xyz/", "nfra", "credit_report", "zh-CN"),
    ("支付宝", "http://88a7k3.icu/", "alipay", "payment", "zh-CN"),
    ("中國信託 - 網路銀行登入", "https://ctbc-login.top/", "ctbc", "bank", "zh-TW"),
    ("京东金融", "https://jd-jr-kefu.cc/", "jd_finance", "loan", "zh-CN"),
]:
    add(title, "impersonation", "impersonation-url", lang, id_, cat, url=url)

# ---------------------------------------------------------------- nothing sensitive at all
for title, proc in [
    ("River Bank Park - Google Maps - Google Chrome", "chrome.exe"),
    ("Food Bank volunteers needed - Nextdoor", "chrome.exe"),
    ("Bank reconciliation.xlsx - Excel", "EXCEL.EXE"),
    ("World Bank Open Data | Data - Google Chrome", "chrome.exe"),
    ("西湖银泰城 - 高德地图 - Google Chrome", "chrome.exe"),
    ("2406578.top - Google Chrome", "chrome.exe"),
    ("新标签页 - Google Chrome", "chrome.exe"),
    ("Chase Center - Golden State Warriors - Google Chrome", "chrome.exe"),
]:
    add(title, "none", "other", "zh-CN" if any("\u4e00" <= ch <= "\u9fff" for ch in title) else "en", process=proc)
for title, url in [
    ("中国人民银行", "http://www.pbc.gov.cn/"),
    ("国家金融监督管理总局", "https://www.nfra.gov.cn/"),
    ("PayPal Developer", "https://developer.paypal.com/home"),
]:
    add(
        title,
        "mention",
        "authority-or-dev",
        "zh-CN" if any("\u4e00" <= ch <= "\u9fff" for ch in title) else "en",
        url=url,
    )

header = """# Title corpus: own, mention and impersonation cases (docs/detection.md), run by
# tests/unit/test_title_corpus.py against the shipped signatures. Built from real app names and the
# title formats real sites, browsers and apps use (browser suffixes, site name positions), crossed
# with real institution names; never from the signature files' phrase lists. Regenerate with
# tools/gen_title_corpus.py after changing the formats there.
#
# expect: own | impersonation | mention | none; id and category where the case names one.
# kind: the kind of window (own-page, own-app, own-url, news, search, social, reviews, maps, video,
# docs, image, mail, chat, ide, elearning, encyclopedia, jobs, sport, impersonation,
# impersonation-url, throwaway, lure, other). lang: zh-CN, zh-TW or en.
"""
with open(OUT, "w", encoding="utf-8") as f:
    f.write(header)
    yaml.safe_dump({"cases": cases}, f, allow_unicode=True, sort_keys=False, width=200, default_flow_style=None)
print(f"{len(cases)} cases written to {os.path.normpath(OUT)}")
