// Hostfile contents in the formats MPI launchers and DeepSpeed read, one host per pod in index order.

/** Open MPI / DeepSpeed: `host slots=N` per line. */
export function slotsHostfile(hosts: readonly string[], slots: number): string {
  return hosts.map((h) => `${h} slots=${slots}\n`).join('');
}

/** MPICH Hydra (`mpiexec -f`, `HYDRA_HOST_FILE`): `host:N` per line. */
export function mpichHostfile(hosts: readonly string[], slots: number): string {
  return hosts.map((h) => `${h}:${slots}\n`).join('');
}

/** Intel MPI (`I_MPI_HYDRA_HOST_FILE`): one host per line; processes per host come from `-ppn`. */
export function intelHostfile(hosts: readonly string[]): string {
  return hosts.map((h) => `${h}\n`).join('');
}
