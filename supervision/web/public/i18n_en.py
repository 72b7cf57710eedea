# ruff: noqa: E501  (translation keys are the Chinese sentences as written in the templates)
"""English for the public pages' chrome, keyed by the Chinese text the templates use."""

EN: dict[str, str] = {
    # layout
    "天河区教育局": "Tianhe District Education Bureau",
    "跳到正文": "Skip to content",
    "主导航": "Main navigation",
    "广州市天河区教育局 · 校外培训监管服务": "Tianhe District Education Bureau, Guangzhou · Off-campus training supervision",
    "校外培训机构查询": "Find a training institution",
    "查询": "Search",
    "名单公示": "Public lists",
    "负面清单": "Negative list",
    "我要举报": "Report a problem",
    # search
    "查询校外培训机构": "Find an off-campus training institution",
    "输入机构名称、统一社会信用代码或办学许可证号，查看机构是否持证办学、是否在白名单、警示名单或黑名单上。": (
        "Enter an institution's name, unified social credit code or licence number to see whether it is "
        "licensed and whether it is on the white, warning or black list."
    ),
    "机构名称、信用代码或许可证号": "Name, credit code or licence number",
    "街道": "Subdistrict",
    "全部街道": "All subdistricts",
    "类别": "Category",
    "全部类别": "All categories",
    "名单": "List",
    "全部": "All",
    "共找到 {n} 家机构。": "{n} institutions found.",
    "找到超过 {n} 家机构，只列出前 {n} 家。请输入更完整的名称，或加上街道、类别等条件。": (
        "More than {n} institutions found; the first {n} are listed. Type more of the name, or add a street"
        " or category."
    ),
    "许可证": "Licence",
    "未查到办学许可证": "No school-running licence found",
    "持证办学、资金监管、未发现严重问题": "Licensed, prepaid fees supervised, no serious problem found",
    "自 {d} 起": "since {d}",
    "不在本期名单上": "Not on the current lists",
    "没有找到符合条件的机构。没有登记的机构可能未经审批，请谨慎报名。": (
        "No institution matches. An institution that is not registered may not be approved: be careful "
        "before you enrol."
    ),
    "负面清单：哪些行为是禁止的": "Negative list: what is prohibited",
    "发现违规培训？我要举报": "Seen prohibited training? Report it",
    "翻页": "Pages",
    "上一页": "Previous page",
    "下一页": "Next page",
    "第 {p} 页，共 {n} 条": "Page {p} of {n} results",
    # institution
    "名单状态": "List status",
    "自 {since} 起列入{list}。": "On the {list} since {since}.",
    "依据第{seq}期名单（{as_of}）。": "According to edition {seq} ({as_of}).",
    "该机构持有有效的办学许可证，开设的课程在许可范围内，预收费已纳入资金监管，未发现严重问题。": (
        "This institution holds a valid school-running licence, its courses are within the licence's scope, "
        "its prepaid fees are in a supervised account, and no serious problem has been found."
    ),
    "该机构因严重违规被列入黑名单。请不要报名或缴费。": (
        "This institution is blacklisted for serious violations. Do not enrol or pay."
    ),
    "该机构正在整改或办学许可证被暂扣，原因如下。报名前请谨慎核实。": (
        "This institution is under a rectification order or its licence is suspended, for the reasons below. "
        "Check carefully before you enrol."
    ),
    "原因": "Why",
    "决定文号": "Decision no.",
    "{d} 作出": "made on {d}",
    "整改期限：{d}": "Must be put right by {d}",
    "（已逾期，仍未解除）": "(deadline passed, not yet lifted)",
    "黑名单期限：至 {d}": "On the black list until {d}",
    "无固定期限，直至解除": "No end date: until lifted",
    "直至解除": "Until lifted",
    "法律依据：": "Legal basis: ",
    "办学许可证被暂扣，直至恢复": "Licence suspended until restored",
    "该机构目前不在任何名单上。": "This institution is not on any list at present.",
    "未列入白名单的原因：": "Why it is not on the white list:",
    "基本信息": "Details",
    "统一社会信用代码": "Unified social credit code",
    "办学状态": "Status",
    "地址": "Address",
    "办学许可证": "School-running licence",
    "有效期至 {d}": "valid until {d}",
    "范围：": "Scope: ",
    "未取得办学许可证": "No school-running licence",
    "预收费资金监管": "Prepaid fee supervision",
    "已纳入监管": "Supervised",
    "未纳入资金监管": "Not in a supervised account",
    "处理决定": "Decisions",
    "文号": "No.",
    "依据：": "Grounds: ",
    "已于 {d} 解除": "lifted on {d}",
    "解除 {r}": "lifts {r}",
    "名单记录": "List history",
    "第{s}期（{d}）": "edition {s} ({d})",
    "第{a}–{b}期（{f} 至 {t}）": "editions {a}–{b} ({f} to {t})",
    "开设课程": "Courses",
    "每课时": "per lesson",
    "未登记课程。": "No courses registered.",
    "举报这家机构": "Report this institution",
    "决定": "decision",
    # lists
    "教育局定期发布白名单、警示名单和黑名单。每期名单都有期号和 SHA-256 指纹，任何人都可以核对名单没有被改动。": (
        "The bureau publishes the white, warning and black lists regularly. Every edition has a sequence "
        "number and a SHA-256 fingerprint, so anyone can check that it has not been altered."
    ),
    "第{seq}期 · {as_of} · {n} 家机构": "Edition {seq} · {as_of} · {n} institutions",
    "历史版本": "Past editions",
    "尚未发布。": "Not published yet.",
    "如何核对名单指纹（SHA-256）": "How to check an edition's fingerprint (SHA-256)",
    "订阅更新（Atom）": "Subscribe to updates (Atom)",
    "期号": "Edition",
    "第{seq}期": "Edition {seq}",
    "名单日期": "List date",
    "发布时间": "Published",
    "北京时间": "Beijing time",
    "机构数": "Institutions",
    "上一期 SHA-256": "Previous edition's SHA-256",
    "无（首期）": "none (first edition)",
    "下载 CSV（Excel 可直接打开）": "Download CSV (opens in Excel)",
    "下载 JSON": "Download JSON",
    "历史版本与变化": "Past editions and changes",
    "如何核对指纹": "How to check the fingerprint",
    "在本期名单中查找：名称、信用代码或许可证号": "Find in this edition: name, credit code or licence number",
    "查找": "Find",
    "共 {n} 家机构。": "{n} institutions.",
    "没有符合条件的机构。": "No institution matches.",
    "上一期": "Previous edition",
    "全部历史版本": "All editions",
    "与上一期相比": "Changes since the previous edition",
    "这是首期名单，共 {n} 家机构。": "This is the first edition: {n} institutions.",
    "与上一期相同。": "The same as the previous edition.",
    "新列入 {a} 家，移出 {b} 家，原因变化 {c} 家。": "{a} entered, {b} left, {c} with a changed reason.",
    "变化": "Change",
    "机构": "Institution",
    "本期名单": "This edition",
    "新列入": "Entered",
    "移出": "Left",
    "下载": "Download",
    # negative list
    "校外培训负面清单": "Negative list for off-campus training",
    "以下行为是禁止的。教育局据此检查机构、作出处理决定，并在名单中注明原因。规则中的数值为 {d} 起施行的标准。": (
        "The following are prohibited. The bureau checks institutions against them, makes its decisions on "
        "them, and names them as reasons on the lists. Figures are those in force on {d}."
    ),
    "分类": "Areas",
    "严重程度：": "Severity: ",
    "由执法人员调查认定": "found by an officer's investigation",
    # verify
    "如何核对名单指纹": "How to check an edition's fingerprint",
    "每期名单发布时都会计算一个 SHA-256 指纹，并记下上一期的指纹，形成一条链。名单哪怕改动一个字，指纹就完全不同；改动过去任何一期，链条就会断开。任何人都可以自己重新计算。": (
        "Each edition gets a SHA-256 fingerprint when it is published and records the fingerprint of the "
        "edition before it, forming a chain. Change a single character and the fingerprint is entirely "
        "different; change any past edition and the chain breaks. Anyone can recompute it."
    ),
    "计算方法": "How it is computed",
    "下载某一期名单的 JSON 文件。": "Download an edition's JSON file.",
    "去掉其中的 sha256 字段，其余字段原样保留。": "Remove its sha256 field and keep everything else as it is.",
    "按“规范形式”重新写出：键按字母顺序排列，不加任何空格和换行，中文等非 ASCII 字符原样写出（不转义），用 UTF-8 编码。": (
        "Write it out in canonical form: keys in sorted order, no spaces or line breaks, Chinese and other "
        "non-ASCII characters written as they are (not escaped), encoded as UTF-8."
    ),
    "对这些字节计算 SHA-256，得到的十六进制字符串应与 sha256 字段和网页上公布的一致。": (
        "Compute the SHA-256 of those bytes: the hexadecimal string must equal the sha256 field and the "
        "fingerprint shown on this site."
    ),
    "每期的 prev_sha256 应等于上一期的 sha256；首期为 null。": (
        "Each edition's prev_sha256 must equal the sha256 of the edition before it; the first has null."
    ),
    "用 Python 核对": "Checking with Python",
    "当前各名单的指纹": "Current fingerprints",
    # complaints
    "发现无证办学、超时培训、违规收费、拒不退费、虚假宣传等问题，可以在这里举报。可以匿名；留下联系方式便于我们向您了解情况，我们不会公开举报人的任何信息。": (
        "Report unlicensed training, lessons at forbidden times, improper fees, refused refunds, false "
        "advertising and the like here. You may stay anonymous; if you leave a way to reach you we can ask "
        "for details. We never publish anything about the person who reports."
    ),
    "请修改以下内容后再提交：": "Please correct the following and submit again:",
    "机构名称（选填）": "Institution name (optional)",
    "统一社会信用代码（选填）": "Unified social credit code (optional)",
    "18位数字和字母，可在机构页面或营业执照上找到。": (
        "18 digits and letters, shown on the institution's page or its business licence."
    ),
    "举报内容（必填）": "What happened (required)",
    "请写明时间、地点、发生了什么，10 到 3000 字。": "When, where and what happened, 10 to 3000 characters.",
    "联系方式（选填）": "How to reach you (optional)",
    "提交举报": "Submit the report",
    "举报已收到": "Report received",
    "您的举报编号是": "Your reference number is",
    "请记下这个编号，以便日后查询处理进展。我们会在核实后依法处理。": (
        "Keep this number to follow up your report. We will look into it and act according to the law."
    ),
    "返回首页": "Back to the home page",
    "举报查询": "Your report",
    "处理进展": "Progress",
    "收到日期": "Received on",
    "被举报机构": "Institution",
    "处理结果": "Outcome",
    "已收到": "Received",
    "正在处理": "Being handled",
    "已办结": "Concluded",
    "我们正在依法处理，办结后会在本页显示处理结果。": (
        "We are handling it according to the law; the outcome will be shown on this page when it is concluded."
    ),
    "页面已过期或来源无法确认，您填写的内容已保留，请再次点击提交。": (
        "This page has expired or its origin could not be confirmed. What you entered is kept: please "
        "submit again."
    ),
    "提交过于频繁，请 {minutes} 分钟后再试。您填写的内容已保留。": (
        "Too many reports from here just now: please try again in {minutes} minutes. What you entered is kept."
    ),
    "请描述您要举报的情况（10 到 3000 字）。": "Please describe what happened (10 to 3000 characters).",
    "统一社会信用代码应为18位数字和大写字母。": "A unified social credit code has 18 digits and capital letters.",
    "联系方式不能超过100字。": "How to reach you: at most 100 characters.",
    "机构名称不能超过200字。": "Institution name: at most 200 characters.",
}
