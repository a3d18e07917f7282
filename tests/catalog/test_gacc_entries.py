"""The Stable Diffusion Neuron entries converted from the generative-ai-cdk-constructs catalog extract.

Reproduced byte for byte from the extract the tests carry (tests/data/jumpstart/README.md), their image URIs equal
to what the SageMaker SDK's Hugging Face Neuron table gives in every region, and nothing the extract lacks filled in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from genai_kit.catalog import load_entry, resolve_hosting
from genai_kit.catalog.loader import DEFAULT_ROOT, entry_path, list_models
from genai_kit.catalog.refresh import refresh_from_extract
from genai_kit.catalog.refresh.__main__ import main
from genai_kit.catalog.refresh.convert import RefreshError
from genai_kit.catalog.refresh.gacc import MISSING, convert_gacc, is_gacc_source

SD21 = ("huggingface-txt2imgneuron-stabilityai-stable-diffusion-v2-1", "1.1.15")
SDXL = ("huggingface-txt2imgneuron-stabilityai-stable-diffusion-xl-base-1-0", "1.1.15")
KEYS = {
    SD21: "HUGGINGFACE_TXT2IMGNEURON_STABILITYAI_STABLE_DIFFUSION_V2_1_1_1_15",
    SDXL: "HUGGINGFACE_TXT2IMGNEURON_STABILITYAI_STABLE_DIFFUSION_XL_BASE_1_0_1_1_15",
}
# huggingface-pytorch-inference-neuronx:<pytorch>-transformers<version>-neuronx-<py>-sdk<neuron>-<os>
_TAG = re.compile(
    r"^(?P<account>\d+)\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/huggingface-pytorch-inference-neuronx:"
    r"(?P<pytorch>[\d.]+)-transformers(?P<transformers>[\d.]+)-neuronx-(?P<py>py\d+)-sdk[\d.]+-(?P<os>ubuntu[\d.]+)$"
)


@pytest.fixture(scope="module")
def extract(reference_dir: Path) -> Path:
    return reference_dir / "gacc_catalog_extract" / "jumpstart-models.extract.json"


def test_catalog_holds_exactly_the_extract_entries() -> None:
    ours = {(r.model_id, r.version) for r in list_models() if is_gacc_source(load_entry(r.model_id, r.version).source)}
    assert ours == set(KEYS)


def test_entries_are_reproduced_byte_for_byte(extract: Path, tmp_path: Path) -> None:
    date = load_entry(*SD21).refreshed
    refresh_from_extract(extract, out=tmp_path, date=date, keys=list(KEYS.values()))
    for model in KEYS:
        assert entry_path(tmp_path, *model).read_bytes() == entry_path(DEFAULT_ROOT, *model).read_bytes()


@pytest.mark.parametrize("model", list(KEYS))
def test_image_uris_match_sdk_table_in_every_region(sdk: SimpleNamespace, model: tuple[str, str]) -> None:
    images = load_entry(*model).hosting.images
    assert list(images) == ["alias_ecr_uri_1"]
    uris = images["alias_ecr_uri_1"]
    assert len(uris) >= 20
    for region, uri in uris.items():
        tag = _TAG.match(uri)
        assert tag is not None, uri
        assert tag["region"] == region
        theirs = sdk.image_uris.retrieve(
            framework="huggingface",
            region=region,
            version=tag["transformers"],
            base_framework_version=f"pytorch{tag['pytorch']}",
            py_version=tag["py"],
            container_version=tag["os"],
            instance_type="ml.inf2.xlarge",
            image_scope="inference",
            # What sagemaker.huggingface.HuggingFaceModel passes for an inf2 instance.
            inference_tool="neuronx",
        )
        assert uri == theirs


@pytest.mark.parametrize(("model", "cores"), [(SD21, {"ml.inf2.xlarge": "2", "ml.inf2.48xlarge": "24"}), (SDXL, {})])
def test_resolution_keeps_variants_and_fills_in_nothing(model: tuple[str, str], cores: dict[str, str]) -> None:
    for instance_type, expected in (cores or {"ml.inf2.24xlarge": "12"}).items():
        spec = resolve_hosting(*model, region="us-east-1", instance_type=instance_type)
        assert spec.environment["NEURON_RT_NUM_CORES"] == expected
        assert spec.model_data.s3_uri == (
            f"s3://jumpstart-cache-prod-us-east-1/huggingface-txt2imgneuron/{model[0]}/artifacts/inference-prepack/v1.0.0/"
        )
        assert (spec.model_data.s3_data_type, spec.model_data.compression) == ("S3Prefix", "None")
        assert not spec.model_data.accept_eula_required
        assert spec.enable_network_isolation is None
        assert spec.volume_size_gb is None
        assert spec.model_data_download_timeout is None
        assert spec.container_startup_health_check_timeout is None
        assert spec.payload.family == "txt2img"
        assert spec.payload.content_type is None
    assert load_entry(*model).missing == MISSING
    assert load_entry(*model).training is None


def test_only_text_to_image_neuron_rows_are_converted(extract: Path) -> None:
    rows = json.loads(extract.read_text())
    with pytest.raises(RefreshError, match="only the text-to-image Neuron models"):
        convert_gacc("HUGGINGFACE_LLM_MISTRAL_7B_2_9_0", rows["HUGGINGFACE_LLM_MISTRAL_7B_2_9_0"], date="2000-01-01")


def test_cli_converts_extract_rows_and_names_an_unknown_row(
    extract: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--from-gacc-extract", str(extract), "--out", str(tmp_path), "--date", "2000-01-01"]
    assert main([*argv, "--key", KEYS[SD21]]) == 0
    written = entry_path(tmp_path, *SD21)
    assert f"wrote {written}" in capsys.readouterr().out
    assert json.loads(written.read_text())["source"] == (
        f"gacc-extract:awslabs/generative-ai-cdk-constructs@9d49b9d3:jumpstart-models.json#{KEYS[SD21]}"
    )
    assert main([*argv, "--key", "NOPE"]) == 2
    assert "row 'NOPE' is not in" in capsys.readouterr().err
