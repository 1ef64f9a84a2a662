"""The fixed, deterministic plant catalogue of ``geracao_usina`` (~530 plants)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa

from ons_pipeline.local.generator.climate import NAMES, SUB_INDEX

_STATES = {
    "N": {"AM": "AMAZONAS", "AP": "AMAPA", "MA": "MARANHAO", "PA": "PARA", "TO": "TOCANTINS"},
    "NE": {
        "AL": "ALAGOAS",
        "BA": "BAHIA",
        "CE": "CEARA",
        "PB": "PARAIBA",
        "PE": "PERNAMBUCO",
        "PI": "PIAUI",
        "RN": "RIO GRANDE DO NORTE",
        "SE": "SERGIPE",
    },
    "S": {"PR": "PARANA", "RS": "RIO GRANDE DO SUL", "SC": "SANTA CATARINA"},
    "SE": {
        "AC": "ACRE",
        "ES": "ESPIRITO SANTO",
        "GO": "GOIAS",
        "MG": "MINAS GERAIS",
        "MS": "MATO GROSSO DO SUL",
        "MT": "MATO GROSSO",
        "RJ": "RIO DE JANEIRO",
        "RO": "RONDONIA",
        "SP": "SAO PAULO",
    },
}
_STATE_SUB = {uf: sub for sub, states in _STATES.items() for uf in states}
_KIND_TYPE = {
    "H": "HIDROELÉTRICA",
    "T": "TÉRMICA",
    "U": "NUCLEAR",
    "W": "EOLIELÉTRICA",
    "S": "FOTOVOLTAICA",
}
KINDS = ("H", "T", "U", "W", "S")  # hydro, thermal, nuclear (uranium), wind, solar

# uf | modalidade | kind | combustível | nome | id_ons | ceg | MW. Real plants (names as ONS
# writes them) plus a few with the punctuation the files can hold (commas, dots, parentheses).
_ANCHORS = """
AM|TIPO I|H|Hidráulica|Balbina|AMBA|UHE.PH.AM.000190-2.01|250
AM|TIPO III|T|Óleo Combustível|Electron|AMELC|UTE.PE.AM.027120-9.01|120
AM|TIPO I|T|Gás|Mauá 3|AMCM|UTE.GN.AM.031888-4.01|590
AM|TIPO II-A|T|Óleo Diesel|Flores 1|AMFL1|UTE.PE.AM.029192-7.01|20
AM|TIPO I|T|Gás|Aparecida|AMAA|UTE.GN.AM.027250-7.02|166
AP|TIPO I|H|Hidráulica|Santo Antônio do Jari|APSAJ|UHE.PH.AP.026792-9.01|393
AP|TIPO I|H|Hidráulica|Coaracy Nunes|APCN|UHE.PH.AP.000783-8.01|78
AP|TIPO I|H|Hidráulica|Ferreira Gomes|APFGO|UHE.PH.AP.030385-2.01|252
AP|TIPO I|H|Hidráulica|Cachoeira Caldeirão|APUCCA|UHE.PH.AP.031186-3.01|219
PA|TIPO I|H|Hidráulica|Tucuruí|PATU|UHE.PH.PA.002889-4.01|8370
PA|TIPO I|H|Hidráulica|Belo Monte|PABM|UHE.PH.PA.030354-2.01|11000
PA|TIPO I|H|Hidráulica|Pimental|PAPI|UHE.PH.PA.030354-2.02|233
PA|TIPO I|H|Hidráulica|Curuá-Una|PACU|UHE.PH.PA.027130-6.01|42
MA|TIPO I|H|Hidráulica|Estreito|MAUHET|UHE.PH.MA.028863-2.01|1087
MA|TIPO I|T|Carvão|Porto do Itaqui|MAUTPI|UTE.CM.MA.029700-3.01|360
MA|TIPO I|T|Gás|Parnaíba IV|MAUTP4|UTE.GN.MA.031193-6.01|56
MA|TIPO I|T|Gás|Maranhão IV|MAUTM4|UTE.GN.MA.030202-3.01|338
MA|Conjunto de Usinas|W|Eólica|Conj. Paulino Neves|CJU_MAPLN|-|426
TO|TIPO I|H|Hidráulica|Luís Eduardo Magalhães (Lajeado)|TOLJ|UHE.PH.TO.027053-1.01|903
TO|TIPO I|H|Hidráulica|Peixe Angical|TOPA|UHE.PH.TO.028402-5.01|499
TO|TIPO I|H|Hidráulica|São Salvador|TOSSA|UHE.PH.TO.028931-0.01|243
AL|TIPO I|H|Hidráulica|Xingó|ALUXG|UHE.PH.SE.027053-9.01|3162
BA|TIPO I|H|Hidráulica|Paulo Afonso IV|BAPA4|UHE.PH.BA.001541-5.01|2462
BA|TIPO I|H|Hidráulica|Sobradinho|BASB|UHE.PH.BA.001544-0.01|1050
PE|TIPO I|H|Hidráulica|Luiz Gonzaga|PELG|UHE.PH.PE.001543-1.01|1479
BA|TIPO I|H|Hidráulica|Itapebi|BAIT|UHE.PH.BA.027370-8.01|462
BA|Conjunto de Usinas|W|Eólica|Conj. Delfina|CJU_BADFN|-|180
CE|Conjunto de Usinas|W|Eólica|Conj. Pedra Cheirosa|CJU_CECHE|-|51
PB|Conjunto de Usinas|S|Fotovoltaica|Conj. Rio Alto|CJU_PBRAL|-|150
PE|Conjunto de Usinas|W|Eólica|Conj. Caetés II|CJU_PECE2|-|190
PI|Conjunto de Usinas|W|Eólica|Conj. Lagoa dos Ventos 2|CJU_PILDV2|-|716
RN|Conjunto de Usinas|W|Eólica|Conj. Cutia|CJU_RNCUT|-|312
BA|Conjunto de Usinas|W|Fotovoltaica|Conj. Folha Larga|CJU_BAFLL|-|151
BA|Conjunto de Usinas|S|Fotovoltaica|Usina Solar Sol do Sertão, Fase 2|CJU_BASS2|-|180
PI|Conjunto de Usinas|S|Fotovoltaica|Usina Solar Nova Olinda, Fase 1|CJU_PINO1|-|292
SE|TIPO I|T|Gás|Porto de Sergipe I|SEUPS1|UTE.GN.SE.032228-8.01|1516
CE|TIPO I|T|Carvão|Pecém I|CEUPC1|UTE.CM.CE.029244-3.01|720
CE|TIPO I|T|Carvão|Pecém II|CEUPC2|UTE.CM.CE.029245-1.01|365
PE|TIPO I|T|Gás|Termopernambuco|PEUTPE|UTE.GN.PE.027290-6.01|533
BA|TIPO I|T|Gás|Celso Furtado (Termobahia)|BAUTB|UTE.GN.BA.027305-8.01|186
RJ|TIPO I|U|Nuclear|Angra 1|RJAN1|UTN.UR.RJ.027360-3.01|640
RJ|TIPO I|U|Nuclear|Angra 2|RJAN2|UTN.UR.RJ.027361-1.01|1350
RO|TIPO I|H|Hidráulica|Jirau|ROJI|UHE.PH.RO.029736-4.01|3750
RO|TIPO I|H|Hidráulica|Santo Antônio|ROSA|UHE.PH.RO.029735-6.01|3568
SP|TIPO I|H|Hidráulica|Ilha Solteira|SPIS|UHE.PH.SP.001510-5.01|3444
SP|TIPO I|H|Hidráulica|Engenheiro Souza Dias (Jupiá)|SPJP|UHE.PH.SP.001508-3.01|1551
SP|TIPO I|H|Hidráulica|Porto Primavera|SPPP|UHE.PH.SP.001521-0.01|1540
MG|TIPO I|H|Hidráulica|São Simão|MGSS|UHE.PH.MG.001528-8.01|1710
GO|TIPO I|H|Hidráulica|Itumbiara|GOIT|UHE.PH.GO.001527-0.01|2082
MG|TIPO I|H|Hidráulica|Furnas|MGFU|UHE.PH.MG.001520-1.01|1216
MG|TIPO I|H|Hidráulica|Emborcação|MGEM|UHE.PH.MG.001516-4.01|1192
GO|TIPO I|H|Hidráulica|Serra da Mesa|GOSM|UHE.PH.GO.027056-3.01|1275
MG|TIPO I|H|Hidráulica|Marimbondo|MGMB|UHE.PH.MG.001524-5.01|1440
SP|TIPO I|H|Hidráulica|Água Vermelha|SPAV|UHE.PH.SP.001509-1.01|1396
MG|TIPO I|H|Hidráulica|Luís Carlos Barreto (Estreito)|MGLCB|UHE.PH.MG.001522-9.01|1050
MG|TIPO I|H|Hidráulica|Mascarenhas de Moraes (Peixoto)|MGMM|UHE.PH.MG.001523-7.01|476
MT|TIPO I|H|Hidráulica|Teles Pires|MTTP|UHE.PH.MT.030806-4.01|1820
RJ|TIPO I|T|Gás|Governador Leonel Brizola (TermoRio)|RJTR|UTE.GN.RJ.027285-0.01|1058
RJ|TIPO I|T|Gás|Norte Fluminense|RJNF|UTE.GN.RJ.027282-5.01|827
RJ|TIPO I|T|Gás|GNA I|RJGNA1|UTE.GN.RJ.033512-6.01|1338
MG|Conjunto de Usinas|S|Fotovoltaica|Conj. Pirapora|CJU_MGPIR|-|321
MG|Conjunto de Usinas|S|Fotovoltaica|Usina Solar Jaíba, Fase 1|CJU_MGJB1|-|210
MG|Pequenas Usinas (Tipo III)|H|Hidráulica|Pequenas Usinas (Tipo III)|PQU_MGPUT|-|340
PR|TIPO I|H|Hidráulica|Gov. Bento Munhoz (Foz do Areia)|PRFA|UHE.PH.PR.001531-8.01|1676
PR|TIPO I|H|Hidráulica|Salto Santiago|PRSS|UHE.PH.PR.001536-9.01|1420
PR|TIPO I|H|Hidráulica|Salto Osório|PRSO|UHE.PH.PR.001535-0.01|1078
PR|TIPO I|H|Hidráulica|Segredo|PRSG|UHE.PH.PR.001534-2.01|1260
PR|TIPO I|H|Hidráulica|Salto Caxias|PRSC|UHE.PH.PR.027084-9.01|1240
SC|TIPO I|H|Hidráulica|Itá|SCITA|UHE.PH.SC.027079-2.01|1450
SC|TIPO I|H|Hidráulica|Machadinho|SCMA|UHE.PH.SC.027080-6.01|1140
SC|TIPO I|H|Hidráulica|Campos Novos|SCCN|UHE.PH.SC.028400-9.01|880
PR|TIPO I|H|Hidráulica|Mauá|PRMAU|UHE.PH.PR.029727-5.01|361
PR|TIPO I|H|Hidráulica|Santa Clara (PR)|PRSCL|UHE.PH.PR.028361-4.01|120
SC|TIPO I|H|Hidráulica|Quebra Queixo|SCUQQX|UHE.PH.SC.002167-9.01|120
SC|TIPO I|T|Carvão|Jorge Lacerda IV|SCJL4|UTE.CM.SC.001543-7.01|363
RS|TIPO I|T|Carvão|Candiota III|RSCD3|UTE.CM.RS.029229-0.01|350
PR|TIPO I|T|Gás|Araucária|PRUEG|UTE.GN.PR.027294-9.01|484
RS|Conjunto de Usinas|W|Eólica|Conj. Quinta 138 kV|CJU_RSQ138|-|180
SC|Pequenas Usinas (Tipo III)|W|Eólica|PEQUENAS CENTRAIS EOLIELÉTRICAS DA CELESC|PQU_PECSD|-|30
"""

_PLACES = {
    "N": [
        "Manaus",
        "Iranduba",
        "Manacapuru",
        "Itacoatiara",
        "Parintins",
        "Macapá",
        "Santana",
        "Oiapoque",
        "Laranjal do Jari",
        "Belém",
        "Barcarena",
        "Marabá",
        "Santarém",
        "Altamira",
        "Itaituba",
        "Jacundá",
        "São Luís",
        "Imperatriz",
        "Açailândia",
        "Bacabal",
        "Santo Antônio dos Lopes",
        "Barreirinhas",
        "Tutóia",
        "Araguaína",
        "Porto Nacional",
        "Gurupi",
        "Tocantinópolis",
        "Conceição do Araguaia",
        "Redenção",
        "Paragominas",
        "Castanhal",
        "Abaetetuba",
        "Tucumã",
        "Xinguara",
    ],
    "NE": [
        "Caetité",
        "Igaporã",
        "Guanambi",
        "Brotas de Macaúbas",
        "Sento Sé",
        "Casa Nova",
        "Juazeiro",
        "Morro do Chapéu",
        "Campo Formoso",
        "Umburanas",
        "Ourolândia",
        "Xique-Xique",
        "Gentio do Ouro",
        "Tanque Novo",
        "Pindaí",
        "Riachão",
        "Sobral",
        "Acaraú",
        "Aracati",
        "Trairi",
        "Amontada",
        "Icaraí",
        "Camocim",
        "Beberibe",
        "Itarema",
        "Tianguá",
        "Ibiapina",
        "Parnaíba",
        "Simões",
        "Marcolândia",
        "Caldeirão Grande",
        "Lagoa do Barro",
        "Dom Inocêncio",
        "Queimada Nova",
        "São Gonçalo do Gurguéia",
        "Ribeira do Piauí",
        "Lajes",
        "João Câmara",
        "Parazinho",
        "Touros",
        "Guamaré",
        "Macau",
        "Areia Branca",
        "Serra do Mel",
        "Jandaíra",
        "Santana do Matos",
        "Currais Novos",
        "Pedra Grande",
        "São Bento do Norte",
        "Galinhos",
        "Araripina",
        "Tacaratu",
        "São José do Belmonte",
        "Serra Talhada",
        "Garanhuns",
        "Coremas",
        "Malta",
        "Santa Luzia",
        "São Mamede",
        "Sumé",
        "Canindé de São Francisco",
        "Pão de Açúcar",
        "Piranhas",
        "Barra dos Coqueiros",
        "Aquiraz",
        "Camaçari",
        "Candeias",
        "Lençóis",
        "Irecê",
        "Bom Jesus da Lapa",
        "Tabocas do Brejo Velho",
        "Oliveira dos Brejinhos",
        "Jaguarari",
        "Mangue Seco",
        "Baixa do Feijão",
        "Chapada do Araripe",
        "Serra da Babilônia",
        "Boa Vista do Tupim",
        "Várzea da Roça",
        "Sertão do Pajeú",
        "Cacimbas",
        "Ventania",
        "Alto do Rodrigues",
        "Assú",
        "Mossoró",
        "Apodi",
        "Afonso Bezerra",
        "Pedro Avelino",
        "Caiçara do Norte",
    ],
    "SE": [
        "Pirapora",
        "Janaúba",
        "Jaíba",
        "Paracatu",
        "Guaimbê",
        "Ituverava",
        "Sertãozinho",
        "Piracicaba",
        "Araraquara",
        "Ribeirão Preto",
        "Barretos",
        "Jaboticabal",
        "Presidente Prudente",
        "Três Lagoas",
        "Campo Grande",
        "Dourados",
        "Cuiabá",
        "Rondonópolis",
        "Várzea Grande",
        "Anápolis",
        "Rio Verde",
        "Uberaba",
        "Uberlândia",
        "Araguari",
        "Patos de Minas",
        "Montes Claros",
        "Governador Valadares",
        "Juiz de Fora",
        "Ipatinga",
        "Itabira",
        "Conceição do Mato Dentro",
        "Campos dos Goytacazes",
        "Macaé",
        "Seropédica",
        "Santa Cruz",
        "Duque de Caxias",
        "Vitória",
        "Linhares",
        "Cachoeiro de Itapemirim",
        "Aimorés",
        "Capim Branco",
        "Queimado",
        "Picada",
        "São Domingos",
        "Espora",
        "Salto do Rio Verdinho",
        "Caçu",
        "Itaguaçu",
        "Corumbá",
        "Batalha",
        "Serra do Facão",
        "Guaporé",
        "Juruena",
        "Sapezal",
        "Samuel",
        "Rio Branco",
        "Porto Velho",
        "Ji-Paraná",
        "Vilhena",
        "Ourinhos",
        "Avaré",
        "Jurumirim",
        "Chavantes",
        "Taquaruçu",
        "Rosana",
        "Promissão",
        "Ibitinga",
        "Bariri",
        "Barra Bonita",
        "Nova Avanhandava",
        "Três Irmãos",
        "Igarapava",
        "Volta Grande",
        "Porto Colômbia",
        "Jaguara",
        "Miranda",
        "Amador Aguiar",
        "Camargos",
        "Itutinga",
        "Sá Carvalho",
        "Guilman-Amorim",
        "Salto Grande",
        "Porto Estrela",
        "Baguari",
        "Retiro Baixo",
        "Candonga",
        "Fumaça",
        "Pai Joaquim",
        "Itiquira",
        "Manso",
        "Ponte de Pedra",
        "Dardanelos",
        "Colíder",
        "Sinop",
        "São Manoel",
        "Irapé",
        "Mascarenhas",
        "Funil",
        "Simplício",
        "Anta",
        "Ilha dos Pombos",
        "Nilo Peçanha",
        "Fontes Nova",
        "Pereira Passos",
        "Paraibuna",
        "Jaguari",
        "Caconde",
        "Euclides da Cunha",
        "Limoeiro",
        "Lajes do Muriaé",
        "Cana Brava",
        "Corumbá IV",
        "Barra dos Bugres",
        "Canarana",
        "Nova Ponte",
        "Três Marias",
        "Piumhi",
        "Lavras",
        "Andradina",
        "Penápolis",
        "Catanduva",
        "Jaú",
        "Lins",
    ],
    "S": [
        "Osório",
        "Palmares do Sul",
        "Santa Vitória do Palmar",
        "Chuí",
        "Tramandaí",
        "Livramento",
        "Cerro Chato",
        "Água Doce",
        "Bom Jardim da Serra",
        "Candiota",
        "Charqueadas",
        "Uruguaiana",
        "Canoas",
        "Guarapuava",
        "Pato Branco",
        "Chapecó",
        "Joaçaba",
        "Lages",
        "Blumenau",
        "Criciúma",
        "Tubarão",
        "Capivari de Baixo",
        "Erechim",
        "Passo Fundo",
        "Santa Maria",
        "Bagé",
        "Rio Grande",
        "Pelotas",
        "Cascavel",
        "Foz do Iguaçu",
        "Ponta Grossa",
        "Telêmaco Borba",
        "Castro",
        "Palmas",
        "União da Vitória",
        "Caxias do Sul",
        "Bento Gonçalves",
        "Garibaldi",
        "Monte Claro",
        "Castro Alves",
        "14 de Julho",
        "Dona Francisca",
        "Itaúba",
        "Jacuí",
        "Passo Real",
        "Ernestina",
        "Passo São João",
        "Monjolinho",
        "Baixo Iguaçu",
        "Governador Parigot de Souza",
        "Guaricana",
        "Chaminé",
        "Apucaraninha",
        "Mourão",
        "Salto do Vau",
        "Cavernoso",
        "Rio dos Patos",
        "Garcia",
        "Bracinho",
        "Cedros",
        "Pery",
        "Celso Ramos",
        "Xanxerê",
        "Foz do Chapecó",
        "Barra Grande",
        "Passo São Borja",
    ],
}

# (subsystem, kind) -> (number of plants, total MW around 2023, anchors included).
_FLEET = {
    ("N", "H"): (22, 28_000),
    ("NE", "H"): (14, 11_000),
    ("SE", "H"): (95, 45_000),
    ("S", "H"): (45, 17_000),
    ("N", "T"): (25, 3_500),
    ("NE", "T"): (30, 7_000),
    ("SE", "T"): (60, 20_000),
    ("S", "T"): (20, 4_000),
    ("SE", "U"): (2, 1_990),
    ("N", "W"): (6, 900),
    ("NE", "W"): (140, 18_000),
    ("S", "W"): (18, 2_000),
    ("N", "S"): (2, 150),
    ("NE", "S"): (35, 6_000),
    ("S", "S"): (3, 200),
    ("SE", "S"): (18, 3_000),
}
_FUELS = ("Gás", "Óleo Diesel", "Óleo Combustível", "Biomassa", "Carvão", "Resíduos Industriais")
_FUEL_P = (0.36, 0.2, 0.14, 0.2, 0.04, 0.06)
_FUEL_CEG = {
    "Hidráulica": "PH",
    "Gás": "GN",
    "Óleo Diesel": "PE",
    "Óleo Combustível": "PE",
    "Biomassa": "AI",
    "Carvão": "CM",
    "Resíduos Industriais": "RI",
    "Nuclear": "UR",
    "Eólica": "CV",
    "Fotovoltaica": "RS",
}
_DISPATCH = {
    "Gás": 0.5,
    "Óleo Diesel": 0.08,
    "Óleo Combustível": 0.12,
    "Biomassa": 0.55,
    "Carvão": 0.75,
    "Resíduos Industriais": 0.7,
    "Nuclear": 1.0,
}
# States where wind and solar plants are sited (hydro and thermal: any state of the subsystem).
_RENEWABLE_STATES = {
    ("N", "W"): ("MA",),
    ("NE", "W"): ("BA", "BA", "RN", "RN", "CE", "PI", "PE", "PB"),
    ("S", "W"): ("RS", "RS", "RS", "SC", "PR"),
    ("N", "S"): ("TO",),
    ("S", "S"): ("RS", "SC"),
    ("NE", "S"): ("BA", "PI", "CE", "PE", "PB", "RN"),
    ("SE", "S"): ("MG", "MG", "SP", "GO"),
}
_SMALL_PLANTS = "Pequenas Usinas (Tipo III)"
# Operating modality by kind, drawn by one roll: the first (bound, modalidade) with roll < bound.
_MODALIDADES: dict[str, tuple[tuple[float, str], ...]] = {
    "H": ((0.45, "TIPO I"), (0.6, "TIPO II-A"), (0.9, "TIPO III"), (1.0, _SMALL_PLANTS)),
    "T": (
        (0.45, "TIPO I"),
        (0.7, "TIPO II-A"),
        (0.82, "TIPO II-B"),
        (0.88, "TIPO II-C"),
        (0.96, "TIPO III"),
        (1.0, _SMALL_PLANTS),
    ),
}
_RENEWABLE_MODALIDADES: tuple[tuple[float, str], ...] = (
    (0.8, "Conjunto de Usinas"),
    (0.88, "TIPO I"),
    (0.95, "TIPO II-B"),
    (1.0, "TIPO II-C"),
)
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
_STOP_WORDS = {
    "DE",
    "DO",
    "DA",
    "DOS",
    "DAS",
    "E",
    "CONJ",
    "USINA",
    "SOLAR",
    "PCH",
    "UTE",
    "EOL",
    "UFV",
    "FASE",
    "COMPLEXO",
    "EOLICO",
    "PARQUE",
    "BIOENERGIA",
    "TERMO",
    "CIA",
}

PLANT_TAGS = (
    "id_subsistema",
    "nom_subsistema",
    "id_estado",
    "nom_estado",
    "cod_modalidadeoperacao",
    "nom_tipousina",
    "nom_tipocombustivel",
    "nom_usina",
    "id_ons",
    "ceg",
)


@dataclass(frozen=True)
class PlantCatalogue:
    """The fixed plant list of ``geracao_usina``, sorted as canonical rows are (by the tags)."""

    tags: pa.Table  # one row per plant, the PLANT_TAGS columns
    subsystem: np.ndarray  # index into SUBSYSTEMS
    kind: np.ndarray  # one of KINDS
    fuel: np.ndarray  # nom_tipocombustivel
    capacity_mw: np.ndarray  # around 2023
    site: np.ndarray  # per-plant resource factor (wind, solar)
    dispatch: np.ndarray  # thermal propensity to be dispatched

    def __len__(self) -> int:
        return self.tags.num_rows


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _abbreviation(name: str) -> str:
    words = [
        w
        for w in "".join(c if c.isalnum() else " " for c in _ascii(name)).upper().split()
        if w not in _STOP_WORDS
    ]
    if not words:
        return "X"
    if len(words) == 1:
        return words[0][:3]
    return "".join(w[0] if not w.isdigit() else w for w in words[:4])


def _plant_name(kind: str, modalidade: str, fuel: str, place: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    if kind == "H":
        if modalidade in ("TIPO III", "TIPO II-A") and roll < 0.6:
            return f"PCH {place}"
        return place
    if kind == "W":
        if modalidade == "Conjunto de Usinas":
            if roll < 0.15:
                return f"Complexo Eólico {place}, Parque {rng.integers(1, 9)}"
            return f"Conj. Ventos de {place}" if roll < 0.35 else f"Conj. {place}"
        return f"EOL {place}"
    if kind == "S":
        if roll < 0.25:
            return f"Usina Solar {place}, Fase {rng.integers(1, 5)}"
        return f"Conj. Solar {place}" if modalidade == "Conjunto de Usinas" else f"UFV {place}"
    if fuel == "Biomassa":
        return f"Bioenergia {place}" if roll < 0.5 else f"Cia. Açucareira {place}"
    if fuel == "Resíduos Industriais":
        return f"Siderúrgica {place}"
    return f"UTE {place}" if roll < 0.5 else f"Termo {place}"


def _modalidade(kind: str, rng: np.random.Generator) -> str:
    roll = rng.random()
    choices = _MODALIDADES.get(kind, _RENEWABLE_MODALIDADES)
    return next((name for bound, name in choices if roll < bound), choices[-1][1])


@cache
def plant_catalogue() -> PlantCatalogue:
    """The fixed, deterministic catalogue of ~530 plants (independent of any seed)."""
    rng = np.random.default_rng(20_190_217)
    rows: list[dict[str, object]] = []
    names: set[str] = set()
    ids: set[str] = set()
    ceg_numbers: set[int] = set()
    for line in _ANCHORS.strip().splitlines():
        uf, mod, kind, fuel, name, id_ons, ceg, mw = line.split("|")
        rows.append(
            dict(uf=uf, mod=mod, kind=kind, fuel=fuel, name=name, id=id_ons, ceg=ceg, mw=float(mw))
        )
        names.add(name)
        ids.add(id_ons)
    for (sub, kind), (count, total_mw) in _FLEET.items():
        existing = [r for r in rows if _STATE_SUB[str(r["uf"])] == sub and r["kind"] == kind]
        missing = count - len(existing)
        remaining_mw = max(total_mw - sum(float(str(r["mw"])) for r in existing), 50.0 * missing)
        sizes = rng.lognormal(0.0, 0.8, missing)
        sizes = sizes / sizes.sum() * remaining_mw
        states = list(_RENEWABLE_STATES.get((sub, kind), _STATES[sub]))
        places = _PLACES[sub]
        for size in sizes:
            uf = states[rng.integers(len(states))]
            mod = _modalidade(kind, rng)
            fuel = {"H": "Hidráulica", "W": "Eólica", "S": "Fotovoltaica", "U": "Nuclear"}.get(
                kind
            ) or str(rng.choice(_FUELS, p=_FUEL_P))
            base = _plant_name(kind, mod, fuel, places[rng.integers(len(places))], rng)
            name = base
            for numeral in _ROMAN[1:]:
                if name not in names:
                    break
                name = f"{base} {numeral}"
            names.add(name)
            prefix = (
                "CJU_"
                if mod == "Conjunto de Usinas"
                else ("PQU_" if mod.startswith("Pequenas") else "")
            )
            stem = f"{prefix}{uf}{_abbreviation(name)}"[:10]
            id_ons, n = stem, 1
            while id_ons in ids:
                n += 1
                id_ons = f"{stem[:9]}{n}" if n < 10 else f"{stem[:8]}{n}"
            ids.add(id_ons)
            if prefix:
                ceg = "-"
            else:
                number = int(rng.integers(1, 60_000))
                while number in ceg_numbers:
                    number = int(rng.integers(1, 60_000))
                ceg_numbers.add(number)
                cls = {
                    "H": "UHE" if size > 30 else "PCH",
                    "T": "UTE",
                    "U": "UTN",
                    "W": "EOL",
                    "S": "UFV",
                }[kind]
                digit = (
                    sum(
                        int(c) * w for c, w in zip(f"{number:06d}", (7, 6, 5, 4, 3, 2), strict=True)
                    )
                    % 10
                )
                ceg = f"{cls}.{_FUEL_CEG[fuel]}.{uf}.{number:06d}-{digit}.01"
            rows.append(
                dict(
                    uf=uf,
                    mod=mod,
                    kind=kind,
                    fuel=fuel,
                    name=name,
                    id=id_ons,
                    ceg=ceg,
                    mw=round(float(size), 1),
                )
            )
    site = rng.uniform(0.8, 1.2, len(rows))
    jitter = rng.uniform(0.7, 1.3, len(rows))

    def sort_key(i: int) -> tuple[str, ...]:
        r = rows[i]
        uf = str(r["uf"])
        sub = _STATE_SUB[uf]
        return (
            sub,
            NAMES[sub],
            uf,
            _STATES[sub][uf],
            str(r["mod"]),
            _KIND_TYPE[str(r["kind"])],
            str(r["fuel"]),
            str(r["name"]),
            str(r["id"]),
            str(r["ceg"]),
        )

    order = sorted(range(len(rows)), key=sort_key)
    keys = [sort_key(i) for i in order]
    tags = pa.table(
        {name: pa.array([k[j] for k in keys], pa.string()) for j, name in enumerate(PLANT_TAGS)}
    )
    fuels = np.array([rows[i]["fuel"] for i in order], dtype=object)
    return PlantCatalogue(
        tags=tags,
        subsystem=np.array([SUB_INDEX[k[0]] for k in keys], dtype=np.int64),
        kind=np.array([rows[i]["kind"] for i in order]),
        fuel=fuels,
        capacity_mw=np.array([float(str(rows[i]["mw"])) for i in order]),
        site=site[order],
        dispatch=np.array([_DISPATCH.get(str(f), 0.0) for f in fuels]) * jitter[order],
    )
