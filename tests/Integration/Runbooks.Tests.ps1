# The runbooks of docs/runbooks against the real kernel: run as root in the VM of ../shared/vm with a devdax namespace
# (dax0.0) and the daxfs and overlay modules. Boot: devdax (Invoke-Integration.ps1 runs it before Devices.Tests.ps1, and
# it leaves no mount and nothing under /run behind). By hand, in one pwsh:
#   ../shared/vm/run-vm.sh --devdax --memory-size 512M --timeout 1500 -- dotnet pwsh -NoProfile -File tests/Invoke-PesterSuite.ps1 \
#       -PesterPath PESTER.psd1 -ModulePath out/DaxFs/DaxFs.psd1 -ResultFile out/TestResults/runbooks-vm.json \
#       -TestPath tests/Integration/Runbooks.Tests.ps1
# It needs nothing from the host but the repository (the guest cannot see the host's /tmp, where ../shared may live): its
# trees, images and mount points are made in the guest, under /run.
# Nothing is mocked except, in the rollback tests, Write-DaxFsImage: it writes a copy of the image with one byte of a
# file changed (with the real cmdlet, into the real device) and reports the intended image, so the corrupted image
# is mounted by the kernel and only the runbook's check through the mount can catch it.
BeforeDiscovery {
    $script:SkipReason = if ((id -u) -ne '0') { 'needs root (run it in ../shared/vm/run-vm.sh --devdax)' }
        elseif (-not (Test-Path /dev/dax0.0)) { 'needs /dev/dax0.0 (run-vm.sh --devdax)' }
        elseif (-not ((Get-Content /proc/filesystems) -match '\bdaxfs$')) { 'needs the daxfs kernel module' }
    if ($SkipReason) { Write-Host "Runbooks in the kernel: skipped: $SkipReason" }
}

BeforeAll {
    $script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    if (-not $env:DAXFS_MODULE_PATH) { $env:DAXFS_MODULE_PATH = Join-Path $RepoRoot 'out/DaxFs/DaxFs.psd1' }
    Import-Module $env:DAXFS_MODULE_PATH -Force
    $script:Runbooks = Join-Path $RepoRoot 'docs/runbooks'
    $script:Publish = Join-Path $Runbooks 'Publish-DaxFsRootfs.ps1'
    $script:Update = Join-Path $Runbooks 'Update-DaxFsImage.ps1'
    $script:AddView = Join-Path $Runbooks 'Add-DaxFsContainerView.ps1'
    $script:RemoveView = Join-Path $Runbooks 'Remove-DaxFsContainerView.ps1'
    $script:Inventory = Join-Path $Runbooks 'Get-DaxHostInventory.ps1'
    $script:Base = '/run/daxfs-runbooks'
    $script:Mp = "$Base/rootfs"
    $script:Views = "$Base/views"
    $script:Work = "$Base/work"

    function New-RootTree([string] $Name, [string] $Motd) {
        $t = Join-Path $Base $Name
        New-Item -ItemType Directory -Force "$t/etc", "$t/usr/bin", "$t/usr/share/doc", "$t/var/empty" | Out-Null
        Set-Content "$t/etc/hostname" 'node1'
        Set-Content "$t/etc/motd" $Motd
        [IO.File]::WriteAllBytes("$t/usr/bin/tool", [byte[]](0..255 * 40))
        [IO.File]::WriteAllBytes("$t/usr/share/doc/page-edge", [byte[]]::new(4097))
        New-Item -ItemType File "$t/etc/empty" | Out-Null
        New-Item -ItemType SymbolicLink -Path "$t/etc/issue" -Target motd | Out-Null
        New-Item -ItemType HardLink -Path "$t/usr/bin/tool2" -Target "$t/usr/bin/tool" | Out-Null
        $t
    }
    # A Write-DaxFsImage that lands one changed byte of /etc/motd's data ('version 2') and claims to have written the
    # image. (No closure over a parameter: Pester hands the mock its parameters as variables of its own scope.)
    function Use-CorruptingWrite {
        Mock Write-DaxFsImage -ParameterFilter { $Image.Path -match '(rootfs|new)\.daxfs$' } {
            $bytes = [IO.File]::ReadAllBytes($Image.Path)
            $at = [Text.Encoding]::Latin1.GetString($bytes).IndexOf('version 2', [StringComparison]::Ordinal)
            $bytes[$at] = $bytes[$at] -bxor 0x20
            $bad = "$($Image.Path).corrupt"
            [IO.File]::WriteAllBytes($bad, $bytes)
            $placed = & (Get-Command Write-DaxFsImage -CommandType Cmdlet) -Image $bad -Device $Device -PassThru -Confirm:$false
            [DaxFs.DaxFsMemoryImage]@{ TargetKind = $placed.TargetKind; Target = $placed.Target; Device = $placed.Device; Size = $placed.Size
                PhysicalAddress = $placed.PhysicalAddress; ImagePath = $Image.Path; BytesWritten = $placed.BytesWritten; Verified = $true
                Sha256 = (Get-FileHash $Image.Path).Hash.ToLowerInvariant() }
        }
    }
    function Get-DeviceImageSha {
        $copy = Save-DaxFsImage -Device dax0.0 -Destination "$Base/check.daxfs" -Force
        (Get-FileHash $copy.Path).Hash
    }
    New-Item -ItemType Directory -Force $Base | Out-Null
    $script:V1 = New-RootTree 'tree-v1' 'version 1'
    $script:V2 = New-RootTree 'tree-v2' 'version 2'
}

AfterAll {
    # The next file of the boot (Devices.Tests.ps1) counts the daxfs mounts and uses dax0.0: leave no mount (daxfs,
    # overlay, the views' tmpfs) and free the guest memory the trees and images take.
    if (Get-Variable Base -ErrorAction Ignore) {
        Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_ -like "$Base/*" } | Sort-Object -Descending | ForEach-Object { umount -l $_ 2>$null }
        Remove-Item -LiteralPath $Base -Recurse -Force -ErrorAction Ignore
    }
}

Describe 'Runbooks in the kernel' -Skip:([bool]$SkipReason) {
    It 'publishes a root file system to dax0.0 and verifies every file through the real mount' {
        $r = & $Publish -Path $V1 -Device dax0.0 -MountPoint $Mp -WorkDirectory $Work -Confirm:$false
        $r.Status | Should -Be 'Published' -Because "$($r.Error)"
        $r.FilesVerified | Should -Be 6
        $r.Mismatches | Should -BeNullOrEmpty
        $m = Get-DaxFsMount $Mp
        $m.ReadOnly | Should -BeTrue
        $m.Source | Should -Be 'dax0.0'
        Get-Content "$Mp/etc/motd" | Should -Be 'version 1'
        (Get-Item "$Mp/etc/issue").LinkTarget | Should -Be 'motd'
        Get-DeviceImageSha | Should -Be $r.ImageSha256
    }
    It 'publishing the same tree again writes nothing' {
        $r = & $Publish -Path $V1 -Device dax0.0 -MountPoint $Mp -WorkDirectory $Work -Confirm:$false
        $r.Status | Should -Be 'Unchanged' -Because "$($r.Error)"
        $r.Written | Should -BeFalse
        $r.HeaderMatch | Should -BeTrue
        $r.FilesVerified | Should -Be 6
    }
    It 'gives three containers their own OverlayFS view of the one mount' {
        $v = @(& $AddView -Name c1, c2, c3 -MountPoint $Mp -ViewRoot $Views -TmpfsSize 16m -Confirm:$false)
        $v.State | Should -Be @('Created', 'Created', 'Created')
        Set-Content "$Views/c1/root/etc/motd" 'changed in c1'
        New-Item "$Views/c2/root/etc/only-c2" -ItemType File | Out-Null
        Get-Content "$Views/c1/root/etc/motd" | Should -Be 'changed in c1'
        Get-Content "$Views/c2/root/etc/motd" | Should -Be 'version 1'
        Get-Content "$Mp/etc/motd" | Should -Be 'version 1'
        Test-Path "$Views/c3/root/etc/only-c2" | Should -BeFalse
        Test-Path "$Views/c1/rw/upper/etc/motd" | Should -BeTrue
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -match " - overlay .*lowerdir=$([regex]::Escape($Mp))" }).Count | Should -Be 3
    }
    It 'inventories the host: the device and the mount hold the published image, exit code 0' {
        $published = (Get-FileHash "$Work/rootfs.daxfs").Hash
        $rows = @(& $Inventory -JsonPath "$Base/inventory.json" -WorkDirectory "$Base/inv")
        $LASTEXITCODE | Should -Be 0
        $rows.Kind | Should -Contain 'Region'
        $rows.Kind | Should -Contain 'Namespace'
        ($rows | Where-Object Kind -eq 'DmaHeap').Name | Should -Contain 'system'
        ($rows | Where-Object { $_.Kind -eq 'DaxDevice' -and $_.Name -eq 'dax0.0' }).ImageSha256 | Should -Be $published
        $m = $rows | Where-Object { $_.Kind -eq 'Mount' -and $_.MountPoint -eq $Mp }
        $m.ImageSha256 | Should -Be $published
        $m.Severity | Should -Be 'OK'
        (Get-Content "$Base/inventory.json" -Raw | ConvertFrom-Json).Count | Should -Be $rows.Count
    }
    It 'rolls an update back after a corrupted write; the views come back on the old image with their changes' {
        $old = Get-DeviceImageSha
        Use-CorruptingWrite
        $r = & $Update -Path $V2 -Device dax0.0 -MountPoint $Mp -WorkDirectory $Work -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'RolledBack' -Because "$($r.Error) $($r.Publish.Error)"
        @($r.Publish.Mismatches).Count | Should -Be 1
        $r.Publish.Mismatches[0] | Should -BeLike 'content differs: /etc/motd *'
        "$err" | Should -Match 'RolledBack'
        Get-DeviceImageSha | Should -Be $old
        Get-Content "$Mp/etc/motd" | Should -Be 'version 1'
        $r.ConsumersRemounted.Count | Should -Be 3
        Get-Content "$Views/c1/root/etc/motd" | Should -Be 'changed in c1'
        Get-Content "$Views/c3/root/etc/motd" | Should -Be 'version 1'
    }
    It 'updates the image under the views' {
        $r = & $Update -Path $V2 -Device dax0.0 -MountPoint $Mp -WorkDirectory $Work -Confirm:$false
        $r.Status | Should -Be 'Updated' -Because "$($r.Error) $($r.Publish.Error)"
        $r.Publish.FilesVerified | Should -Be 6
        Get-Content "$Mp/etc/motd" | Should -Be 'version 2'
        Get-Content "$Views/c3/root/etc/motd" | Should -Be 'version 2'
        Get-Content "$Views/c1/root/etc/motd" | Should -Be 'changed in c1'
        Test-Path "$Views/c2/root/etc/only-c2" | Should -BeTrue
    }
    It 'removes the views and the image mount cleanly' {
        $r = @(& $RemoveView -ViewRoot $Views -MountPoint $Mp -DismountImage -Confirm:$false)
        $r.State | Should -Be @('Removed', 'Removed', 'Removed')
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -match " $([regex]::Escape($Base))/" }) | Should -BeNullOrEmpty
        Get-ChildItem $Views | Should -BeNullOrEmpty
        Get-DaxFsMount | Should -BeNullOrEmpty
    }
    It 'rolls a publish back after a corrupted write: the previous image is written back and mounted again' {
        & $Publish -Path $V1 -Device dax0.0 -MountPoint $Mp -WorkDirectory $Work -Confirm:$false | Out-Null
        $old = Get-DeviceImageSha
        Use-CorruptingWrite
        $r = & $Publish -Path $V2 -Device dax0.0 -MountPoint $Mp -WorkDirectory $Work -Confirm:$false -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'RolledBack' -Because "$($r.Error)"
        $r.Mismatches | Should -BeLike 'content differs: /etc/motd *'
        Get-DeviceImageSha | Should -Be $old
        Get-Content "$Mp/etc/motd" | Should -Be 'version 1'
        (Get-DaxFsMount $Mp).ReadOnly | Should -BeTrue
        Dismount-DaxFs $Mp -Confirm:$false
    }
    It 'publishes to a dma-buf through a staging mount' {
        $r = & $Publish -Path $V2 -DmaBuf -MountPoint "$Base/dmabuf" -WorkDirectory $Work -Confirm:$false
        $r.Status | Should -Be 'Published' -Because "$($r.Error)"
        $r.FilesVerified | Should -Be 6
        $m = Get-DaxFsMount "$Base/dmabuf"
        $m.DmaBuf | Should -BeTrue
        Get-Content "$Base/dmabuf/etc/motd" | Should -Be 'version 2'
        (& $Publish -Path $V2 -DmaBuf -MountPoint "$Base/dmabuf" -WorkDirectory $Work -Confirm:$false).Status | Should -Be 'Unchanged'
        Dismount-DaxFs "$Base/dmabuf" -Confirm:$false
    }
}

# Issue 19: a container base image, as a container runtime would use it. The OCI layout is made in the guest by
# tests/fixtures/make-oci-layout.py (three layers with whiteouts, an opaque directory and hard links; busybox-static as
# /bin/busybox and /bin/sh), published to dax0.0 by Publish-DaxFsRootfs.ps1 straight from the layout, and shared by two
# OverlayFS views; a process in each view, with its own mount and pid namespaces and the view as its root (unshare +
# chroot), runs a shell, reads the image's files and writes a file that lands only in its view's upper layer.
# The image's own busybox cannot be executed from the read-only daxfs mount (nor through a view of it): the reference
# module refuses every writable mapping on a mount without a writable layer, MAP_PRIVATE included (EACCES), and an ELF
# loader maps the data segment that way, so the exec dies with SIGSEGV. The test holds that as measured (it fails when a
# module allows it, and then the image's shell is the one to run) and runs the same busybox bytes from the guest's own
# file, bind-mounted over the view's /bin/busybox in the process's private mount namespace only.
Describe 'A container base image in the kernel' -Skip:([bool]$SkipReason) {
    It 'publishes an OCI image to dax0.0 and gives two container views their own root, reads and writes' {
        $busybox = (Get-Command busybox -CommandType Application | Select-Object -First 1).Source
        $oci = "$Base/oci"
        & python3 (Join-Path $RepoRoot 'tests/fixtures/make-oci-layout.py') $oci $busybox
        $LASTEXITCODE | Should -Be 0
        $image = "$Base/container"
        $r = & $Publish -Path "$oci/layout" -Reference test -Device dax0.0 -MountPoint $image -WorkDirectory "$Base/container-work" -Confirm:$false
        $r.Status | Should -Be 'Published' -Because "$($r.Error)"
        $r.Mismatches | Should -BeNullOrEmpty
        (Get-Item "$image/bin/busybox").UnixMode | Should -Be '-rwxr-xr-x'
        Test-Path "$image/var/gone" | Should -BeFalse
        $views = "$Base/container-views"
        $v = @(& $AddView -Name web, worker -MountPoint $image -ViewRoot $views -TmpfsSize 16m -Confirm:$false)
        $v.State | Should -Be @('Created', 'Created')
        # The image's busybox, through a view, has the bytes it was built from; the module maps it for reading but refuses
        # a private writable mapping, so running it is killed by SIGSEGV (139).
        (Get-FileHash "$views/web/root/bin/busybox").Hash | Should -Be (Get-FileHash $busybox).Hash
        python3 (Join-Path $PSScriptRoot private-map.py) "$views/web/root/bin/busybox" | Should -Be 'Permission denied'
        $own = unshare --mount --pid --fork chroot "$views/web/root" /bin/sh -c 'echo ran' 2>&1
        $LASTEXITCODE | Should -Be 139 -Because "the image's own shell ran: $own (the module now maps it; run the image's shell in the loop below)"
        foreach ($name in 'web', 'worker') {
            $root = "$views/$name/root"
            $script = "echo `$`$; cat /etc/hostname; ls /opt/old; echo $name > /etc/written-by; cat /etc/written-by"
            $out = unshare --mount --pid --fork sh -c "mount --bind $busybox $root/bin/busybox && exec chroot $root /bin/sh -c '$script'" 2>&1
            $LASTEXITCODE | Should -Be 0 -Because "$out"
            $out | Should -Be @('1', 'daxfs', 'c', $name)   # pid 1 in its own namespace, the image's files, its own write
        }
        Get-Content "$views/web/root/etc/written-by" | Should -Be 'web'
        Get-Content "$views/worker/root/etc/written-by" | Should -Be 'worker'
        Get-Content "$views/web/rw/upper/etc/written-by" | Should -Be 'web'
        Get-Content "$views/worker/rw/upper/etc/written-by" | Should -Be 'worker'
        Test-Path "$image/etc/written-by" | Should -BeFalse
        Test-Path "$views/web/rw/upper/bin/busybox" | Should -BeFalse   # the bind mount wrote nothing to the view
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -match " $([regex]::Escape("$views/"))[^ ]*/bin/busybox " }) | Should -BeNullOrEmpty
        $removed = @(& $RemoveView -ViewRoot $views -MountPoint $image -DismountImage -Confirm:$false)
        $removed.State | Should -Be @('Removed', 'Removed')
    }
}
