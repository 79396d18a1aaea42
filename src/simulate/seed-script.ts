// The baseline the release latency is measured against: the seed's wait loop, each pod pinging every pod's
// name once a second until all answer (run in netns pods by runNetnsJob in the e2e tests and bench/seed).

/**
 * The seed's container script (kubernetes.io "Job with Pod-to-Pod Communication"), verbatim except for the
 * index list, which the seed writes out for its 3 pods.
 */
export function seedScript(n: number, jobName = 'example-job', subdomain = 'headless-svc'): string {
  const indexes = Array.from({ length: n }, (_, i) => i).join(' ');
  return `for i in ${indexes}
do
  gotStatus="-1"
  wantStatus="0"
  while [ $gotStatus -ne $wantStatus ]
  do
    ping -c 1 ${jobName}-\${i}.${subdomain} > /dev/null 2>&1
    gotStatus=$?
    if [ $gotStatus -ne $wantStatus ]; then
      echo "Failed to ping pod ${jobName}-\${i}.${subdomain}, retrying in 1 second..."
      sleep 1
    fi
  done
  echo "Successfully pinged pod: ${jobName}-\${i}.${subdomain}"
done
`;
}
