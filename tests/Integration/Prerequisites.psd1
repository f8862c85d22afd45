# The programs the integration suite needs on the host and the Debian package of each; read by build.ps1
# (which installs the missing ones as root) and by Invoke-Integration.ps1 (which skips the suite without them).
# python3: the vectors' make-trees.sh. strace: WriteSafety.Tests.ps1 holds a writer at its first msync(2).
# openssh-server, openssh-client: the hosts boot starts sshd in its guests (the guests share this machine's programs) and
# reaches them over PowerShell remoting (ssh, ssh-keygen); a full path, as /usr/sbin is not on every PATH.
@{
    'qemu-system-x86_64' = 'qemu-system-x86'
    'busybox'            = 'busybox-static'
    'cpio'               = 'cpio'
    'xz'                 = 'xz-utils'
    'ndctl'              = 'ndctl'
    'daxctl'             = 'daxctl'
    'python3'            = 'python3'
    'strace'             = 'strace'
    '/usr/sbin/sshd'     = 'openssh-server'
    'ssh-keygen'         = 'openssh-client'
    # Container images (tests/ContainerImages.Tests.ps1 compares with umoci unpack and makes a docker archive with skopeo).
    'umoci'              = 'umoci'
    'skopeo'             = 'skopeo'
    'zstd'               = 'zstd'
}
