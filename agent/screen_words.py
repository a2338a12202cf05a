"""The question screen's word lists, by language: what makes a question clearly protective, and what makes
it a request for harm whatever else it asks.

Linking an agent works in any language and script (see ``txscout.tools.chemistry.lexicon``); these lists
are what stays language-specific. They are read over the folded, lower-cased question (accents dropped,
so "détection" is written "detection" here). A language missing from ``PROTECTIVE`` is not unsafe: a
question in it that links an agent is refused, with the agent's public safety facts, because nothing in
it reads as protective.

``HARM`` holds the words that win over any protective word: making, getting, weaponising, spreading,
lethal doses, evading detection, and a fictional or role-play frame around the request (a character who
explains how he made the agent is a synthesis request in costume). English also has the object-aware
intent patterns of ``txscout.agent.safety``, so its list here only adds what those do not read.
"""

from __future__ import annotations

import re
from functools import cache

from txscout.tools.chemistry.lexicon import strip_marks

_EN_AGENTIVE = (
    r"\b(?:how\s+(?:do|can|could|would|should|might|may|will)\s+(?:i|we|you|one|someone|somebody|they|he|she|"
    r"a\s+person|terrorists?)|how\s+to|i\s+(?:want|need|plan|intend|wish|would\s+like)\s+to|"
    r"i'?m\s+(?:going|planning|trying)\s+to|i\s+am\s+(?:going|planning|trying)\s+to|help\s+me|teach\s+me|"
    r"show\s+me\s+how\s+to|tell\s+me\s+how\s+to|(?:best|easiest|quickest|cheapest)\s+way\s+to|ways?\s+to|"
    r"steps\s+to|let'?s)\s+(?:\w+ly\s+)?"
    r"(?:weaponi[sz]e|stabili[sz]e|enhance|boost|concentrate|release|spray|disperse|deploy|deliver|spread|"
    r"aerosoli[sz]e|vapori[sz]e|atomi[sz]e|poison|kill|murder|assassinate|attack|harm|hurt|injure|expose|"
    r"contaminate|lace|spike|taint|hide|conceal|smuggle|stockpile|dump|pour|inject|plant|culture|cultivate|"
    r"grow|steal)\b"
)

PROTECTIVE: dict[str, str] = {
    "en": (
        r"\b(?:treat\w*|therap\w*|antidot\w*|antitoxin\w*|atropine|pralidoxime|oximes?|2-pam|obidoxime|"
        r"diazepam|midazolam|pyridostigmine|dimercaprol|anti-?lewisite|first[- ]aid|medical\w*|medicine|"
        r"hospitals?|clinic\w*|patients?|physicians?|doctors?|nurses?|paramedics?|emergenc\w*|triage|"
        r"casualt\w*|victims?|survivors?|injur\w*|symptoms?|signs|poisoning|intoxicat\w*|exposures?|exposed|"
        r"health|toxicity|toxic|mechanism\w*|pharmacolog\w*|acetylcholinesterase|cholinesterase|prognosis|"
        r"diagnos\w*|\d+-year-old|year-old|vaccin\w*|prophyla\w*|pretreatment|detect\w*|sensors?|monitor\w*|"
        r"alarms?|decontaminat\w*|protect\w*|ppe|gas\s+masks?|respirators?|shelter\w*|evacuat\w*|hydroly\w*|"
        r"with\s+water|degrad\w*|neutrali[sz]\w*|destr(?:oy|oyed|oying|uction)|disposal|demilitari[sz]\w*|"
        r"clean[- ]?up|verif\w*|inspect\w*|opcw|cwc|conventions?|treat(?:y|ies)|bans?|banned|prohibit\w*|"
        r"illegal|legal\s+status|laws?|regulat\w*|sanctions?|export\s+controls?|non-?proliferation|"
        r"disarmament|polic(?:y|ies)|history|historical\w*|happened|aftermath|incidents?|"
        r"(?:was|were)\s+(?:\w+\s+){0,2}used|preparedness|prepared|readiness|responders?|response|drills?|"
        r"train(?:ed|ing)|courses?|certif\w*|educat\w*|awareness|avoid\w*|safety)\b"
    ),
    "fr": (
        r"\b(?:traitement\w*|traiter|soign\w*|antidote\w*|contrepoison|atropine|pralidoxime|premiers\s+"
        r"(?:secours|soins)|medic\w*|hopita\w*|patients?|urgence\w*|victimes?|blesses|symptomes?|signes|"
        r"intoxication\w*|empoisonnement|exposition|exposee?s?|toxicite|sante|mecanisme\w*|detect\w*|"
        r"capteurs?|decontamin\w*|protection|proteger|masques?\s+a\s+gaz|verif\w*|inspect\w*|oiac|convention\w*|"
        r"traite|destruction|detrui\w*|elimination|histoire|historique\w*|politique\w*|interdi\w*|"
        r"reglement\w*|loi|se\s+preparer|preparation\s+aux|plan\s+d'urgence|formation|former|entrainement|"
        r"sensibilisation|securite|eviter)\b"
    ),
    "de": (
        r"\b(?:behand\w*|therapie\w*|gegenmittel\w*|gegengift\w*|antidot\w*|atropin|erste\s+hilfe|"
        r"medizin\w*|arzt|arzte\w*|krankenhaus\w*|krankenhauser\w*|klinik\w*|patient\w*|notfall\w*|"
        r"notaufnahme|opfer|verletzte\w*|symptom\w*|anzeichen|vergiftung\w*|exposition|toxizitat|"
        r"gesundheit\w*|wirkmechanismus|nachweis\w*|erkenn\w*|detektion|detektor\w*|sensor\w*|dekontamin\w*|"
        r"entgift\w*|schutz\w*|schutzen|gasmaske\w*|verifi\w*|uberpruf\w*|inspektion\w*|opcw|ovcw|"
        r"chemiewaffen(?:ubereinkommen|konvention)|konvention|vertrag|vernicht\w*|zerstor\w*|entsorg\w*|"
        r"geschichte|historisch\w*|politik|verbot\w*|vorbereit\w*|katastrophenschutz|ausbildung|"
        r"schulung\w*|training|ubung\w*|sicherheit|vermeid\w*)\b"
    ),
    "es": (
        r"\b(?:tratamiento\w*|tratar|curar|antidoto\w*|atropina|pralidoxima|primeros\s+auxilios|medic\w*|"
        r"hospital\w*|pacientes?|urgencias?|emergencias?|victimas?|heridos|sintomas?|signos|"
        r"intoxicacion\w*|envenenamiento|exposicion|expuest\w*|toxicidad|salud|mecanismo|detec\w*|"
        r"sensores?|descontamin\w*|protec\w*|mascaras?\s+de\s+gas|verific\w*|inspecc\w*|opaq|convencion|"
        r"tratado|destruc\w*|destruir|eliminacion|historia|historic\w*|politica\w*|prohibi\w*|regulac\w*|"
        r"ley|prepararse|preparacion\s+(?:ante|para)|preparados?\s+para|formacion|capacitacion|"
        r"entrenamiento|seguridad|evitar)\b"
    ),
    "it": (
        r"\b(?:trattament\w*|trattare|curare|cure|antidot\w*|atropina|primo\s+soccorso|medic\w*|ospedal\w*|"
        r"pazienti|emergenz\w*|vittime|feriti|sintomi|segni|intossicazion\w*|avvelenament\w*|esposizione|"
        r"espost\w*|tossicita|salute|meccanismo|rilev\w*|sensori|decontamin\w*|protezion\w*|proteggere|"
        r"maschere\s+antigas|verific\w*|ispezion\w*|opac|convenzione|trattato|distruzione|distrugg\w*|"
        r"smaltimento|storia|storic\w*|politica|divieto|vietat\w*|prepararsi|formazione|addestrament\w*|"
        r"sicurezza|evitare)\b"
    ),
    "pt": (
        r"\b(?:tratamento\w*|tratar|antidoto\w*|atropina|primeiros\s+socorros|medic\w*|hospita\w*|"
        r"pacientes?|emergencia\w*|vitimas?|feridos|sintomas?|sinais|intoxicacao|envenenamento|exposicao|"
        r"expost\w*|toxicidade|saude|mecanismo|detec\w*|sensores|descontamin\w*|protec\w*|protecao|"
        r"proteger|mascaras?\s+de\s+gas|verific\w*|inspec\w*|opaq|convencao|tratado|destruicao|destruir|"
        r"eliminacao|historia|historic\w*|politica\w*|proibi\w*|preparar-se|preparacao\s+para|formacao|"
        r"treinamento|capacitacao|seguranca|evitar)\b"
    ),
    "ru": (
        r"\b(?:лечени\w*|лечить|антидот\w*|противояди\w*|атропин\w*|перв\w*\s+помощ\w*|медицин\w*|врач\w*|"
        r"больниц\w*|госпитал\w*|пациент\w*|неотложн\w*|пострадавш\w*|жертв\w*|симптом\w*|признак\w*|"
        r"отравлени\w*|воздействи\w*|токсичност\w*|здоровь\w*|механизм\w*|обнаружени\w*|обнаружить|"
        r"выявлени\w*|детектор\w*|датчик\w*|дегазаци\w*|деконтаминац\w*|обеззараж\w*|защит\w*|"
        r"противогаз\w*|верификац\w*|проверк\w*|инспекц\w*|озхо|конвенци\w*|договор\w*|уничтожени\w*|"
        r"утилизац\w*|истори\w*|историческ\w*|политик\w*|запрет\w*|готовност\w*|подготовк\w*|обучени\w*|"
        r"учени\w*|безопасност\w*|избежать)\b"
    ),
    "zh": (
        r"治疗|解毒|解药|急救|医疗|医院|医生|病人|患者|急诊|受害者|伤者|症状|中毒|暴露|毒性|健康|机制|检测|探测|"
        r"检出|传感器|洗消|去污|消毒|防护|保护|防毒面具|核查|核实|视察|禁化武组织|禁止化学武器组织|公约|条约|销毁|"
        r"处置|历史|政策|禁止|应急|备灾|做好准备|培训|训练|演练|安全|避免"
    ),
    "ja": (
        r"治療|解毒|応急|医療|病院|医師|患者|救急|被害者|症状|中毒|曝露|ばく露|暴露|毒性|健康|機序|メカニズム|検知|"
        r"検出|センサー|除染|防護|保護|防毒マスク|検証|査察|化学兵器禁止機関|条約|廃棄|歴史|政策|禁止|備え|訓練|"
        r"研修|安全|避け"
    ),
    "ko": (
        r"치료|해독|응급|의료|병원|환자|피해자|증상|중독|노출|독성|탐지|검출|"
        r"제독|방호|보호|검증|사찰|협약|폐기|역사|정책|금지|대비|훈련|교육|안전"
    ),
    "ar": (
        r"علاج|معالجة|ترياق|مضاد|اسعاف|طبي|مستشفى|مستشفيات|المرضى|طوارئ|ضحايا|مصابين|اعراض|تسمم|التعرض|سمية|"
        r"صحة|كشف|رصد|استشعار|ازالة التلوث|تطهير|حماية|اقنعة|التحقق|تفتيش|منظمة حظر الاسلحة الكيميائية|اتفاقية|"
        r"معاهدة|تدمير|اتلاف|التخلص|تاريخ|سياسة|حظر|الاستعداد|التاهب|تدريب|سلامة|تجنب"
    ),
}

# (kind, pattern) per language; a match is a request for harm whatever protective words stand beside it.
HARM: dict[str, list[tuple[str, str]]] = {
    "en": [
        (
            "synthesis",
            r"\bsynth(?:s|ing|ed)?\b|\bhome[- ]?made\b|\b(?:ethyl|methyl|propyl|isopropyl|butyl|"
            r"cyclohexyl|fluoro|chloro|bromo)[- ]?(?:analog(?:ue)?|homolog(?:ue)?|derivative|version|variant)s?\b|"
            r"\b(?:analog(?:ue)?|homolog(?:ue)?)s?\s+of\b",
        ),
        (
            "enhancement",
            r"\bweaponi[sz]\w*|\bweapons?[- ]grade\b|\bmilitary[- ]grade\b|"
            r"\b(?:potency|toxicity|lethality|persistence|volatility|shelf[- ]life|purity)\s+(?:\w+\s+){0,2}"
            r"(?:be\s+)?(?:increased|improved|enhanced|boosted|maximi[sz]ed|raised|extended|prolonged)\b|"
            r"\b(?:increase|improve|enhance|boost|maximi[sz]e|raise|extend|prolong)\s+(?:\w+\s+){0,2}"
            r"(?:potency|toxicity|lethality|yield|stability|persistence|volatility|shelf[- ]life|purity)\b|"
            r"\bmore\s+(?:potent|lethal|deadly|stable|persistent)\b",
        ),
        ("dissemination", _EN_AGENTIVE),
        (
            "lethal dose",
            r"\b(?:lethal|fatal|deadly|killing|mortal)\s+(?:dose|dosage|amount|quantity|"
            r"concentration|level)s?\b|\bl[dc]t?\s?-?50\b|\bhow\s+(?:much|many\s+\w+)\b[^?.!]{0,60}"
            r"\b(?:kill|lethal|fatal|deadly)\b|\benough\s+to\s+kill\b|\bto\s+kill\s+(?:a|an|one|someone|"
            r"somebody|people|him|her|them|\d+)\b",
        ),
        (
            "evasion",
            r"\b(?:without|avoid|avoiding|evade|evading)\s+(?:getting\s+|being\s+)?(?:caught|"
            r"detect\w*|notic\w*|trac\w*|suspicion|customs|police|authorities)\b|\bundetect\w*|\buntrace\w*|"
            r"\bpast\s+(?:security|customs|airport)\b|\bsmuggl\w*",
        ),
        (
            "fiction",
            r"\b(?:write|writing|draft)\s+(?:me\s+)?(?:a|an|my|the)?\s*(?:novel|story|short\s+story|scene|"
            r"screenplay|script|chapter|dialogue)\b|\b(?:in|for)\s+(?:a|my|the|our)\s+(?:novel|story|book|"
            r"screenplay|film|movie|thriller)\b|\b(?:novel|story|screenplay|thriller)\s+(?:where|in\s+which|"
            r"about|whose)\b|\brole[- ]?play\w*|\bpretend\w*|\bin\s+character\b|\bact\s+as\b|\byou\s+are\s+now\b|"
            r"\bfictional\b|\bhypothetical\w*|\bimagine\b|\bcharacter\s+(?:who|that|explains|describes|tells)\b|"
            r"\bignore\s+(?:all\s+|any\s+|your\s+|the\s+|previous\s+|prior\s+)+(?:instructions|rules|guidelines)\b|"
            r"\bjailbreak\w*|\bdeveloper\s+mode\b",
        ),
    ],
    "fr": [
        (
            "synthesis",
            r"\b(?:synthetis\w*|synthese|synth|fabriqu\w*|fabrication|produire|production\s+de|"
            r"preparer\s+(?:du|de\s+la|le|la)|recette|precurseur\w*|fait\s+maison|analogue\s+ethyl\w*)\b",
        ),
        ("acquisition", r"\b(?:acheter|achat|procurer|obtenir|ou\s+trouver|me\s+procurer)\b"),
        ("enhancement", r"\b(?:militaris\w*|plus\s+(?:puissant|toxique|mortel|stable))\b"),
        ("dissemination", r"\b(?:disperser|repandre|pulveriser|liberer|aerosolis\w*|empoisonner|assassiner|tuer)\b"),
        ("lethal dose", r"\b(?:dose|quantite)\s+(?:letale|mortelle)\b|\bpour\s+tuer\b"),
        ("evasion", r"\bsans\s+(?:etre\s+)?(?:detecte|repere|vu|pris)\w*"),
        ("fiction", r"\b(?:roman|fiction|personnage|jeu\s+de\s+role|imagine[sz]?)\b"),
    ],
    "de": [
        (
            "synthesis",
            r"\b(?:synthetisier\w*|synthese|synth|herstell\w*|herzustellen|produzier\w*|rezept\w*|"
            r"vorlaufer\w*|vorstufe\w*|ausgangsstoff\w*|selbstgemacht\w*|ethylanalog\w*)\b",
        ),
        ("acquisition", r"\b(?:kaufen|kauf|beschaff\w*|besorg\w*|erwerben|bekomm\w*|wo\s+(?:finde|bekomme|kriege))\b"),
        ("enhancement", r"\b(?:waffenfahig\w*|bewaffn\w*|starker\s+machen|wirksamer\s+machen)\b"),
        ("dissemination", r"\b(?:ausbringen|verteilen|verspruhen|freisetzen|aerosolis\w*|vergiften|ermorden|toten)\b"),
        ("lethal dose", r"\b(?:todlich\w*|letale?)\s+(?:dosis|menge)\b|\bum\s+\w+\s+zu\s+toten\b"),
        ("evasion", r"\b(?:unbemerkt|unentdeckt|ohne\s+(?:entdeckt|erwischt|bemerkt)\w*)\b"),
        ("fiction", r"\b(?:roman|fiktiv\w*|rollenspiel\w*|figur|stell\s+dir\s+vor)\b"),
    ],
    "es": [
        (
            "synthesis",
            r"\b(?:sintetiz\w*|sintesis|synth|fabric\w*|producir|produccion\s+de|elaborar|"
            r"precursor\w*|casero|casera|analogo\s+etil\w*)\b",
        ),
        ("acquisition", r"\b(?:comprar|compra|adquirir|conseguir|obtener|donde\s+(?:encontrar|conseguir|comprar))\b"),
        ("enhancement", r"\b(?:militariz\w*|mas\s+(?:potente|toxico|letal|estable))\b"),
        ("dissemination", r"\b(?:dispersar|esparcir|rociar|liberar|aerosoliz\w*|envenenar|asesinar|matar)\b"),
        ("lethal dose", r"\b(?:dosis|cantidad)\s+(?:letal|mortal)\b|\bpara\s+matar\b"),
        ("evasion", r"\bsin\s+ser\s+(?:detectad|descubiert|vist)\w*"),
        ("fiction", r"\b(?:novela|ficcion|personaje|juego\s+de\s+rol|imagina)\b"),
    ],
    "it": [
        (
            "synthesis",
            r"\b(?:sintetizz\w*|sintesi|synth|fabbric\w*|produrre|produzione\s+di|precursor\w*|"
            r"fatto\s+in\s+casa|analogo\s+etil\w*)\b",
        ),
        ("acquisition", r"\b(?:comprare|acquistare|procurar\w*|ottenere|dove\s+(?:trovare|comprare))\b"),
        ("enhancement", r"\b(?:militarizz\w*|piu\s+(?:potente|tossico|letale|stabile))\b"),
        ("dissemination", r"\b(?:disperdere|spruzzare|rilasciare|aerosolizz\w*|avvelenare|assassinare|uccidere)\b"),
        ("lethal dose", r"\bdose\s+(?:letale|mortale)\b|\bper\s+uccidere\b"),
        ("evasion", r"\bsenza\s+essere\s+(?:scopert|rilevat|vist)\w*"),
        ("fiction", r"\b(?:romanzo|finzione|personaggio|gioco\s+di\s+ruolo|immagina)\b"),
    ],
    "pt": [
        (
            "synthesis",
            r"\b(?:sintetiz\w*|sintese|synth|fabric\w*|produzir|producao\s+de|precursor\w*|caseiro|"
            r"caseira|analogo\s+etil\w*)\b",
        ),
        ("acquisition", r"\b(?:comprar|adquirir|conseguir|obter|onde\s+(?:encontrar|comprar|conseguir))\b"),
        ("enhancement", r"\b(?:militariz\w*|mais\s+(?:potente|toxico|letal|estavel))\b"),
        ("dissemination", r"\b(?:dispersar|espalhar|pulverizar|liberar|aerossoliz\w*|envenenar|assassinar|matar)\b"),
        ("lethal dose", r"\bdose\s+(?:letal|mortal)\b|\bpara\s+matar\b"),
        ("evasion", r"\bsem\s+ser\s+(?:detectad|descobert|vist)\w*"),
        ("fiction", r"\b(?:romance|ficcao|personagem|rpg)\b"),
    ],
    "ru": [
        (
            "synthesis",
            r"\b(?:синтез\w*|изготов\w*|производств\w*|произвести|сделать|приготов\w*|прекурсор\w*|"
            r"в\s+домашних\s+условиях|этильн\w*\s+аналог\w*)\b",
        ),
        (
            "acquisition",
            r"\b(?:купить|куплю|покупк\w*|приобрести|приобретени\w*|достать|раздобыть|где\s+(?:взять|найти))\b",
        ),
        ("enhancement", r"\b(?:боев\w*\s+применени\w*|более\s+(?:мощн|токсичн|смертоносн|стабильн)\w*)\b"),
        ("dissemination", r"\b(?:распылить|распылени\w*|распространить|отравить|убить)\b"),
        ("lethal dose", r"\b(?:смертельн|летальн)\w*\s+доз\w*|\bчтобы\s+убить\b"),
        ("evasion", r"\b(?:незаметно|не\s+будучи\s+обнаружен\w*)"),
        ("fiction", r"\b(?:роман\w*|персонаж\w*|ролев\w*|представь\w*)\b"),
    ],
    "zh": [
        ("synthesis", r"合成|制造|制作|制备|生产|怎么做|如何做|自制|配方|前体|乙基类似物|类似物"),
        ("acquisition", r"购买|买到|哪里买|哪儿买|在哪里买|弄到|搞到|获取"),
        ("enhancement", r"武器化"),
        ("dissemination", r"散布|投放|喷洒|投毒|毒死|杀死|杀人|谋杀|暗杀"),
        ("lethal dose", r"致死剂量|致死量|致命剂量"),
        ("evasion", r"不被发现"),
        ("fiction", r"小说|角色扮演|故事|假设"),
    ],
    "ja": [
        ("synthesis", r"合成|製造|作り方|作る|作れ|製法|前駆体|自家製"),
        ("acquisition", r"購入|買う|買え|入手"),
        ("enhancement", r"兵器化"),
        ("dissemination", r"散布|噴霧|殺す|殺害|暗殺|毒殺"),
        ("lethal dose", r"致死量"),
        ("evasion", r"バレずに|見つからず"),
        ("fiction", r"小説|ロールプレイ|物語"),
    ],
    "ko": [
        ("synthesis", r"합성|제조|만드는|만들"),
        ("acquisition", r"구입|구매|입수"),
        ("enhancement", r"무기화"),
        ("dissemination", r"살포|죽이|살해"),
        ("lethal dose", r"치사량"),
        ("fiction", r"소설|롤플레이"),
    ],
    "ar": [
        ("synthesis", r"تصنيع|اصنع|صنع|انتاج|تخليق|توليف|تحضير غاز"),
        ("acquisition", r"شراء|اشتري|اين اجد|الحصول على غاز"),
        ("enhancement", r"تسليح"),
        ("dissemination", r"تسميم|اغتيال|لقتل|نشر الغاز"),
        ("lethal dose", r"جرعة قاتلة|الجرعة القاتلة|جرعة مميتة|الجرعة المميتة"),
        ("evasion", r"دون ان يكتشف|دون اكتشاف"),
        ("fiction", r"رواية|شخصية في|تخيل"),
    ],
}


def _folded(pattern: str) -> str:
    """A pattern spelled as questions are folded (accents and Arabic hamza signs dropped), regex syntax intact."""
    return strip_marks(pattern)


@cache
def protective_pattern() -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{_folded(p)})" for p in PROTECTIVE.values()))


@cache
def harm_patterns() -> list[tuple[str, re.Pattern[str]]]:
    return [(kind, re.compile(_folded(p))) for cues in HARM.values() for kind, p in cues]
