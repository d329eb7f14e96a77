"""A bilingual lexicon of common drugs, so a translation that turns one drug into another is caught.

A small translation model can render 阿莫西林 as "aspirin"; the name is one word in a long sentence and the
slip is invisible without a lexicon. Each entry has a canonical English generic name (what messages print),
its other English names (INN/USAN variants, a few well-known brands) and its Chinese names (generic and
common colloquial ones). Names are matched whole: English case-insensitively at word boundaries (a plural
"s" allowed), Chinese as substrings; the longest name wins, so 左氧氟沙星 is levofloxacin, not ofloxacin, and
阿莫西林克拉维酸钾 is co-amoxiclav, not amoxicillin. Colloquial Chinese names that are also ordinary words
(安定 "stable" for diazepam) are left out on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# English names | Chinese names; the first English name is the canonical one.
_TABLE = """\
amoxicillin | 阿莫西林
co-amoxiclav, amoxicillin-clavulanate, amoxicillin/clavulanate, amoxicillin and clavulanate, \
amoxicillin-clavulanic acid, amoxicillin and clavulanic acid, Augmentin | 阿莫西林克拉维酸钾, 阿莫西林克拉维酸
ampicillin | 氨苄西林
penicillin | 青霉素
piperacillin-tazobactam, piperacillin/tazobactam, piperacillin and tazobactam | 哌拉西林他唑巴坦, 哌拉西林钠他唑巴坦钠
piperacillin | 哌拉西林
cephalosporin | 头孢, 头孢菌素
cefixime | 头孢克肟
cefuroxime | 头孢呋辛
ceftriaxone | 头孢曲松
cefazolin, cephazolin | 头孢唑林
cefalexin, cephalexin | 头孢氨苄
cefaclor | 头孢克洛
cefdinir | 头孢地尼
cefoperazone | 头孢哌酮
ceftazidime | 头孢他啶
cefepime | 头孢吡肟
cefradine, cephradine | 头孢拉定
azithromycin | 阿奇霉素
erythromycin | 红霉素
clarithromycin | 克拉霉素
roxithromycin | 罗红霉素
levofloxacin | 左氧氟沙星
ofloxacin | 氧氟沙星
ciprofloxacin | 环丙沙星
moxifloxacin | 莫西沙星
norfloxacin | 诺氟沙星
doxycycline | 多西环素, 强力霉素
tetracycline | 四环素
minocycline | 米诺环素
metronidazole | 甲硝唑
tinidazole | 替硝唑
clindamycin | 克林霉素
vancomycin | 万古霉素
gentamicin | 庆大霉素
amikacin | 阿米卡星
streptomycin | 链霉素
meropenem | 美罗培南
imipenem | 亚胺培南
linezolid | 利奈唑胺
co-trimoxazole, sulfamethoxazole-trimethoprim, trimethoprim-sulfamethoxazole | 复方新诺明, 复方磺胺甲噁唑
nitrofurantoin | 呋喃妥因
fosfomycin | 磷霉素
rifampicin, rifampin | 利福平
isoniazid | 异烟肼
ethambutol | 乙胺丁醇
pyrazinamide | 吡嗪酰胺
fluconazole | 氟康唑
itraconazole | 伊曲康唑
voriconazole | 伏立康唑
nystatin | 制霉菌素
acyclovir, aciclovir | 阿昔洛韦
valacyclovir, valaciclovir | 伐昔洛韦
oseltamivir, Tamiflu | 奥司他韦
ribavirin | 利巴韦林
entecavir | 恩替卡韦
tenofovir | 替诺福韦
aspirin, acetylsalicylic acid | 阿司匹林, 乙酰水杨酸
ibuprofen, Advil, Motrin | 布洛芬, 芬必得
acetaminophen, paracetamol, Tylenol | 对乙酰氨基酚, 扑热息痛, 泰诺
diclofenac | 双氯芬酸
naproxen | 萘普生
celecoxib | 塞来昔布
indomethacin, indometacin | 吲哚美辛
meloxicam | 美洛昔康
loxoprofen | 洛索洛芬
metamizole, dipyrone | 安乃近
tramadol | 曲马多
morphine | 吗啡
codeine | 可待因
fentanyl | 芬太尼
oxycodone | 羟考酮
pethidine, meperidine | 哌替啶, 杜冷丁
naloxone | 纳洛酮
clopidogrel, Plavix | 氯吡格雷, 波立维
ticagrelor | 替格瑞洛
warfarin | 华法林
heparin | 肝素
low-molecular-weight heparin, low molecular weight heparin, LMWH | 低分子肝素, 低分子量肝素
enoxaparin | 依诺肝素
rivaroxaban | 利伐沙班
dabigatran | 达比加群
apixaban | 阿哌沙班
atorvastatin, Lipitor | 阿托伐他汀, 立普妥
simvastatin | 辛伐他汀
rosuvastatin | 瑞舒伐他汀
pravastatin | 普伐他汀
amlodipine | 氨氯地平
nifedipine | 硝苯地平
felodipine | 非洛地平
diltiazem | 地尔硫卓, 地尔硫䓬
verapamil | 维拉帕米
metoprolol | 美托洛尔
bisoprolol | 比索洛尔
propranolol | 普萘洛尔
atenolol | 阿替洛尔
carvedilol | 卡维地洛
captopril | 卡托普利
enalapril | 依那普利
benazepril | 贝那普利
losartan | 氯沙坦
valsartan | 缬沙坦
irbesartan | 厄贝沙坦
telmisartan | 替米沙坦
hydrochlorothiazide | 氢氯噻嗪
furosemide, frusemide | 呋塞米, 速尿
spironolactone | 螺内酯
digoxin | 地高辛
amiodarone | 胺碘酮
nitroglycerin, nitroglycerine, glyceryl trinitrate | 硝酸甘油
isosorbide mononitrate | 单硝酸异山梨酯
insulin | 胰岛素
metformin | 二甲双胍
glibenclamide, glyburide | 格列本脲
gliclazide | 格列齐特
glimepiride | 格列美脲
glipizide | 格列吡嗪
acarbose | 阿卡波糖
sitagliptin | 西格列汀
pioglitazone | 吡格列酮
dapagliflozin | 达格列净
empagliflozin | 恩格列净
liraglutide | 利拉鲁肽
semaglutide | 司美格鲁肽
omeprazole | 奥美拉唑
esomeprazole | 艾司奥美拉唑, 埃索美拉唑
pantoprazole | 泮托拉唑
lansoprazole | 兰索拉唑
rabeprazole | 雷贝拉唑
ranitidine | 雷尼替丁
famotidine | 法莫替丁
domperidone | 多潘立酮, 吗丁啉
metoclopramide | 甲氧氯普胺, 胃复安
ondansetron | 昂丹司琼
loperamide | 洛哌丁胺, 易蒙停
diosmectite, smectite, montmorillonite | 蒙脱石散, 蒙脱石
lactulose | 乳果糖
salbutamol, albuterol | 沙丁胺醇
budesonide | 布地奈德
montelukast | 孟鲁司特
theophylline | 茶碱
aminophylline | 氨茶碱
ambroxol | 氨溴索
acetylcysteine, N-acetylcysteine | 乙酰半胱氨酸
dextromethorphan | 右美沙芬
loratadine | 氯雷他定
desloratadine | 地氯雷他定
cetirizine | 西替利嗪
levocetirizine | 左西替利嗪
chlorphenamine, chlorpheniramine | 氯苯那敏, 扑尔敏
diphenhydramine | 苯海拉明
prednisone | 泼尼松, 强的松
prednisolone | 泼尼松龙, 强的松龙
methylprednisolone | 甲泼尼龙, 甲基强的松龙
dexamethasone | 地塞米松
hydrocortisone | 氢化可的松
levothyroxine, L-thyroxine | 左甲状腺素, 优甲乐
thiamazole, methimazole | 甲巯咪唑, 他巴唑
diazepam | 地西泮
clonazepam | 氯硝西泮
alprazolam | 阿普唑仑
lorazepam | 劳拉西泮
estazolam | 艾司唑仑
zolpidem | 唑吡坦
sertraline | 舍曲林
fluoxetine | 氟西汀
paroxetine | 帕罗西汀
citalopram | 西酞普兰
escitalopram | 艾司西酞普兰
olanzapine | 奥氮平
quetiapine | 喹硫平
risperidone | 利培酮
haloperidol | 氟哌啶醇
lithium carbonate | 碳酸锂
carbamazepine | 卡马西平
valproate, valproic acid, sodium valproate | 丙戊酸钠, 丙戊酸
phenytoin | 苯妥英钠, 苯妥英
levetiracetam | 左乙拉西坦
gabapentin | 加巴喷丁
pregabalin | 普瑞巴林
donepezil | 多奈哌齐
levodopa | 左旋多巴
allopurinol | 别嘌醇, 别嘌呤醇
febuxostat | 非布司他
colchicine | 秋水仙碱
methotrexate | 甲氨蝶呤
hydroxychloroquine | 羟氯喹
chloroquine | 氯喹
tamsulosin | 坦索罗辛, 坦洛新
finasteride | 非那雄胺
sildenafil, Viagra | 西地那非, 伟哥
alendronate | 阿仑膦酸钠, 阿仑膦酸
ciclosporin, cyclosporine | 环孢素
tacrolimus | 他克莫司
epinephrine, adrenaline | 肾上腺素
norepinephrine, noradrenaline | 去甲肾上腺素
atropine | 阿托品
lidocaine, lignocaine | 利多卡因
propofol | 丙泊酚
mannitol | 甘露醇
oxytocin | 缩宫素, 催产素
mifepristone | 米非司酮
misoprostol | 米索前列醇
tranexamic acid | 氨甲环酸
potassium chloride | 氯化钾
folic acid | 叶酸
"""


@dataclass(frozen=True)
class Drug:
    """One lexicon entry: the canonical English generic name and every name it goes by in each language."""

    name: str
    english: tuple[str, ...]
    chinese: tuple[str, ...]


@dataclass(frozen=True)
class DrugMention:
    """A drug named in a text: which one, the words used and where they are."""

    drug: Drug
    surface: str
    start: int
    end: int


def _parse(table: str) -> tuple[Drug, ...]:
    drugs = []
    for line in table.splitlines():
        english, chinese = (tuple(name.strip() for name in side.split(",")) for side in line.split("|"))
        drugs.append(Drug(english[0], english, chinese))
    return tuple(drugs)


DRUGS: tuple[Drug, ...] = _parse(_TABLE)
_BY_NAME: dict[str, Drug] = {name.casefold(): drug for drug in DRUGS for name in (*drug.english, *drug.chinese)}


def _alternation(names: list[str]) -> str:
    # Longest first: a regex alternation takes the first alternative that matches, not the longest.
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


_DRUG_NAMES = re.compile(
    rf"(?i:(?<![A-Za-z])(?P<en>{_alternation([n for d in DRUGS for n in d.english])})s?(?![A-Za-z]))"
    rf"|(?P<zh>{_alternation([n for d in DRUGS for n in d.chinese])})"
)


def find_drugs(text: str) -> list[DrugMention]:
    """Every drug of the lexicon named in ``text`` (Chinese or English names, in order of appearance)."""
    return [
        DrugMention(_BY_NAME[(match["en"] or match["zh"]).casefold()], match.group(), *match.span())
        for match in _DRUG_NAMES.finditer(text)
    ]


def lookup(name: str) -> Drug | None:
    """The lexicon entry that goes by ``name`` in either language (case-insensitive), or ``None``."""
    return _BY_NAME.get(name.strip().casefold())


__all__ = ["DRUGS", "Drug", "DrugMention", "find_drugs", "lookup"]
