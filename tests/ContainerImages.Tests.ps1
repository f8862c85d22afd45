# New-DaxFsImage from tarballs, OCI image layouts and docker archives (issue 19). Every input is made here: a tree and
# its tarballs with GNU tar, OCI layouts with tests/fixtures/make-oci-layout.py (Python's tarfile: a second tar
# producer), a docker archive with skopeo; the result is checked against `umoci unpack` of the same image.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:IsRoot = (id -u) -eq '0'
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) "daxfs-containers-$PID"
    New-Item -ItemType Directory $script:Work -Force | Out-Null
    $script:Busybox = @('/bin/busybox', '/usr/bin/busybox') | Where-Object { Test-Path $_ } | Select-Object -First 1

    # A small root filesystem: busybox and its shell, a symlink, a hard-link pair, owners, set-uid, long and UTF-8 names.
    function New-RootTree([string] $Root) {
        $t = Join-Path $Root 'tree'
        New-Item -ItemType Directory "$t/bin", "$t/etc", "$t/home/user", "$t/usr/lib", "$t/empty-dir" -Force | Out-Null
        if ($script:Busybox) { Copy-Item $script:Busybox "$t/bin/busybox" } else { Set-Content -NoNewline "$t/bin/busybox" -Value 'no busybox here' }
        New-Item -ItemType SymbolicLink "$t/bin/sh" -Target 'busybox' | Out-Null
        Set-Content -NoNewline "$t/etc/passwd" -Value "root:x:0:0:root:/root:/bin/sh`n"
        Set-Content -NoNewline "$t/usr/lib/data" -Value ('x' * 10000)
        New-Item -ItemType HardLink "$t/usr/lib/data.link" -Target "$t/usr/lib/data" | Out-Null
        Set-Content -NoNewline "$t/home/user/$('n' * 150)" -Value 'long'
        Set-Content -NoNewline "$t/home/user/päivää-日本" -Value 'utf-8'
        Set-Content -NoNewline "$t/empty" -Value ''
        chmod 0755 $t "$t/bin" "$t/etc" "$t/home" "$t/home/user" "$t/usr" "$t/usr/lib" "$t/empty-dir" "$t/bin/busybox"
        chmod 0644 "$t/etc/passwd" "$t/usr/lib/data" "$t/empty" "$t/home/user/päivää-日本" "$t/home/user/$('n' * 150)"
        chmod 04755 "$t/bin/busybox"
        if ($script:IsRoot) { chown -R 1000:1000 "$t/home/user"; chown 0:42 "$t/etc/passwd" }
        $t
    }

    # An image's listing as TreeTools entries (Get-ImageListing of Common.ps1) with the link counts and symlink sizes
    # Get-DaxFsItem gives, so that TreeListing.Compare can hold it against TreeListing.List of a directory: raw names,
    # type, mode, owner, size, SHA-256, link target, hard-link groups and link counts.
    function Get-FullImageListing($Image) {
        $items = @{}
        Get-DaxFsItem $Image -Recurse | ForEach-Object { $items[$_.FullName] = $_ }
        $listing = Get-ImageListing $Image
        , @($listing | ForEach-Object {
                $i = $items[$_.Path]
                $e = @{ Path = $_.Path; Type = $_.Type; Mode = $_.Mode; Uid = $_.Uid; Gid = $_.Gid
                    Size = $(if ($_.Type -eq 'dir') { 0 } else { [long]$i.Size }); Nlink = [uint64]$i.LinkCount; Inode = $_.Inode }
                foreach ($k in 'Sha256', 'Target', 'LinkGroup') { if ($null -ne $_.$k) { $e[$k] = $_.$k } }   # a [string] property would turn $null into ''
                [DaxFs.TreeTools.TreeEntry]$e
            })
    }

    function Get-Sha([string] $Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash }

    $script:Tree = New-RootTree $script:Work
    $script:HaveTools = -not @('python3', 'zstd', 'xz' | Where-Object { -not (Get-Command $_ -CommandType Application -ErrorAction Ignore) })
    $script:Oci = Join-Path $script:Work 'oci'
    if ($script:HaveTools -and $script:Busybox) {
        & python3 (Join-Path $PSScriptRoot 'fixtures/make-oci-layout.py') $script:Oci $script:Busybox
        if ($LASTEXITCODE -ne 0) { throw "make-oci-layout.py failed (exit $LASTEXITCODE)" }
    }
    $script:Layout = Join-Path $script:Oci 'layout'
}

AfterAll {
    if ((Get-Variable -Scope Script -Name Work -ErrorAction Ignore) -and (Test-Path $script:Work)) { Remove-Item -Recurse -Force $script:Work }
}

Describe 'New-DaxFsImage from a tarball' {
    It 'gives the image of the directory byte for byte, from GNU and PAX tarballs, plain, gzip, zstd and xz' {
        if (-not $script:HaveTools) { Set-ItResult -Skipped -Because 'python3, zstd or xz is missing (tests/Integration/Prerequisites.psd1)'; return }
        $dir = New-DaxFsImage -Path $script:Tree -Destination (Join-Path $script:Work 'dir.daxfs') -Force
        $want = Get-Sha $dir.Path
        $made = foreach ($format in 'gnu', 'pax') {
            $tar = Join-Path $script:Work "tree-$format.tar"
            tar --format=$format -C $script:Tree -cf $tar .
            $tar
            gzip -kf $tar; "$tar.gz"
            zstd -qf $tar -o "$tar.zst"; "$tar.zst"
            xz -kf $tar; "$tar.xz"
        }
        foreach ($t in $made) {
            $img = New-DaxFsImage -Path $t -Destination "$t.daxfs" -Force
            Get-Sha $img.Path | Should -Be $want -Because "$t holds the same tree"
        }
        @(Compare-DaxFsImage $dir $script:Tree).Count | Should -Be 0
    }

    It 'gives the format-8 image of the directory byte for byte too' {
        $tar = Join-Path $script:Work 'tree8.tar.gz'
        tar -C $script:Tree -czf $tar .
        $dir8 = New-DaxFsImage -Path $script:Tree -Destination (Join-Path $script:Work 'dir8.daxfs') -Format 8 -Force
        $tar8 = New-DaxFsImage -Path $tar -Destination (Join-Path $script:Work 'tar8.daxfs') -Format 8 -Force
        $dir8.Format | Should -Be 'Format8'
        Get-Sha $tar8.Path | Should -Be (Get-Sha $dir8.Path)
        $split = New-DaxFsImage -Path $tar -Destination (Join-Path $script:Work 'split8.daxfs') -BackingFile (Join-Path $script:Work 'split8.data') -Format 8 -Force
        @(Compare-DaxFsImage $split $script:Tree).Count | Should -Be 0
    }

    It 'names the image after the tarball and applies -Owner, -Uid and -Exclude as for a directory' {
        $tar = Join-Path $script:Work 'named.tar.gz'
        tar -C $script:Tree -czf $tar .
        Push-Location $script:Work
        try { $img = New-DaxFsImage -Path $tar -Owner Root -Exclude 'usr' -Uid 5 -Force }
        finally { Pop-Location }
        $img.Path | Should -Be (Join-Path $script:Work 'named.daxfs')
        $items = @(Get-DaxFsItem $img -Recurse)
        $items.FullName | Should -Not -Contain '/usr'
        @($items | Where-Object Uid -ne 5).Count | Should -Be 0
        @($items | Where-Object Gid -ne 0).Count | Should -Be 0
    }

    It 'refuses a member that climbs out of the image, leaving nothing behind' {
        $bad = Join-Path $script:Work 'escape'
        New-Item -ItemType Directory "$bad/in" -Force | Out-Null
        Set-Content -NoNewline "$bad/x" -Value 'outside'
        $tar = Join-Path $script:Work 'escape.tar'
        tar -C "$bad/in" -P -cf $tar ../x 2>$null
        $dest = Join-Path $script:Work 'out-escape'
        New-Item -ItemType Directory $dest -Force | Out-Null
        New-DaxFsImage -Path $tar -Destination "$dest/escape.daxfs" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DaxFsBuild.UnsafeMemberPath,DaxFs.Commands.NewDaxFsImageCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].Exception.Message | Should -Match "'\.\./x'"
        @(Get-ChildItem -Force $dest).Count | Should -Be 0
    }

    It 'fails on a FIFO member, or leaves it out with a warning under -SkipUnsupported' {
        $src = Join-Path $script:Work 'fifo-tree'
        New-Item -ItemType Directory $src -Force | Out-Null
        mkfifo "$src/pipe"
        Set-Content -NoNewline "$src/file" -Value 'f'
        $tar = Join-Path $script:Work 'fifo.tar'
        tar -C $src -cf $tar .
        New-DaxFsImage -Path $tar -Destination (Join-Path $script:Work 'fifo.daxfs') -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DaxFsBuild.UnsupportedFileType,DaxFs.Commands.NewDaxFsImageCommand'
        $err[0].Exception.Message | Should -Match "'pipe'\. Exclude them with -Exclude, or leave them out with -SkipUnsupported\.$"
        $img = New-DaxFsImage -Path $tar -Destination (Join-Path $script:Work 'fifo.daxfs') -Force -SkipUnsupported -WarningVariable w -WarningAction SilentlyContinue
        (Get-DaxFsItem $img -Recurse).FullName | Should -Be @('/file')
        "$w" | Should -Match "Skipped 'pipe'"
    }

    It 'refuses -Reference for a tarball' {
        $tar = Join-Path $script:Work 'tree-gnu.tar'
        if (-not (Test-Path $tar)) { tar -C $script:Tree -cf $tar . }
        New-DaxFsImage -Path $tar -Reference x -Destination (Join-Path $script:Work 'ref.daxfs') -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'NotAContainerImage,DaxFs.Commands.NewDaxFsImageCommand'
    }
}

Describe 'New-DaxFsImage from an OCI image' {
    BeforeAll {
        $script:Umoci = [bool](Get-Command umoci -CommandType Application -ErrorAction Ignore)
        $script:Skopeo = [bool](Get-Command skopeo -CommandType Application -ErrorAction Ignore)
    }

    It 'equals umoci unpack of the same image entry by entry (whiteouts, opaque directory, hard link into a lower layer, type changes)' {
        if (-not ($script:HaveTools -and $script:Busybox)) { Set-ItResult -Skipped -Because 'python3, zstd, xz or busybox is missing'; return }
        if (-not $script:Umoci) { Set-ItResult -Skipped -Because 'umoci is not installed (Debian package umoci; build.ps1 installs it as root)'; return }
        if (-not $script:IsRoot) { Set-ItResult -Skipped -Because 'umoci keeps the layers'' owners only as root'; return }
        $bundle = Join-Path $script:Work 'bundle'
        umoci unpack --image "${script:Layout}:test" $bundle 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
        $img = New-DaxFsImage -Path $script:Layout -Reference test -Destination (Join-Path $script:Work 'test.daxfs') -Force
        $unpacked = @([DaxFs.TreeTools.TreeListing]::List("$bundle/rootfs") | Where-Object Path -ne '/')
        $unpacked.Count | Should -BeGreaterThan 20
        [DaxFs.TreeTools.TreeEntry[]] $expected = $unpacked
        [DaxFs.TreeTools.TreeEntry[]] $actual = Get-FullImageListing $img
        [DaxFs.TreeTools.TreeListing]::Compare($expected, $actual, 50) | Should -BeNullOrEmpty
        # What the layers did, in the image.
        $names = (Get-DaxFsItem $img -Recurse).FullName
        $names | Should -Not -Contain '/var/gone'
        $names | Should -Not -Contain '/var/dir'
        $names | Should -Not -Contain '/opt/old/a'
        $names | Should -Contain '/opt/old/c'
        $names | Should -Contain '/opt/keep'
        (Get-DaxFsItem $img -Path /usr/lib/lower.link).LinkCount | Should -Be 3
        $names | Should -Contain '/swap/was-file/now'
        (Get-DaxFsItem $img -Path /swap/was-dir).Type | Should -Be 'File'
        (Get-DaxFsItem $img -Path /etc/big-ids).Uid | Should -Be 3000000
        # The same bytes as an image of umoci's unpacked tree.
        $fromTree = New-DaxFsImage -Path "$bundle/rootfs" -Destination (Join-Path $script:Work 'umoci.daxfs') -Force
        Get-Sha $fromTree.Path | Should -Be (Get-Sha $img.Path)
    }

    It 'gives the same bytes from zstd layers, from the layout in a tar, and from a docker archive (skopeo)' {
        if (-not ($script:HaveTools -and $script:Busybox)) { Set-ItResult -Skipped -Because 'python3, zstd, xz or busybox is missing'; return }
        $want = Get-Sha (New-DaxFsImage -Path $script:Layout -Reference test -Destination (Join-Path $script:Work 'ref.daxfs') -Force).Path
        Get-Sha (New-DaxFsImage -Path $script:Layout -Reference test-zstd -Destination (Join-Path $script:Work 'zstd.daxfs') -Force).Path | Should -Be $want
        $tar = Join-Path $script:Work 'layout.tar'
        tar -C $script:Layout -cf $tar .
        Get-Sha (New-DaxFsImage -Path $tar -Reference test -Destination (Join-Path $script:Work 'layout-tar.daxfs') -Force).Path | Should -Be $want
        if (-not $script:Skopeo) { Set-ItResult -Skipped -Because 'skopeo is not installed (Debian package skopeo)'; return }
        $docker = Join-Path $script:Work 'docker.tar'
        skopeo copy --quiet "oci:${script:Layout}:test" "docker-archive:${docker}:example/test:1" 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
        Get-Sha (New-DaxFsImage -Path $docker -Destination (Join-Path $script:Work 'docker.daxfs') -Force).Path | Should -Be $want
        Get-Sha (New-DaxFsImage -Path $docker -Reference example/test:1 -Destination (Join-Path $script:Work 'docker.daxfs') -Force).Path | Should -Be $want
    }

    It 'picks the image by tag and platform, and lists what is there when the choice is ambiguous or missing' {
        if (-not ($script:HaveTools -and $script:Busybox)) { Set-ItResult -Skipped -Because 'python3, zstd, xz or busybox is missing'; return }
        $dest = Join-Path $script:Work 'pick.daxfs'
        New-DaxFsImage -Path $script:Layout -Destination $dest -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DaxFsBuild.ManifestAmbiguous,DaxFs.Commands.NewDaxFsImageCommand'
        $err[0].Exception.Message | Should -Match 'test linux/amd64.*test-zstd.*multi.*\. Give one of these tags with -Reference\.$'
        New-DaxFsImage -Path $script:Layout -Reference nope -Destination $dest -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DaxFsBuild.ManifestNotFound,DaxFs.Commands.NewDaxFsImageCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].Exception.Message | Should -Match 'multi linux/arm64/v8'
        (Get-DaxFsItem (New-DaxFsImage -Path $script:Layout -Reference multi -Platform linux/arm64 -Destination $dest -Force) -Recurse).FullName | Should -Be @('/arch')
        (Get-DaxFsItem (New-DaxFsImage -Path $script:Layout -Reference multi -Destination $dest -Force) -Path /bin/busybox).Type | Should -Be 'File'
        New-DaxFsImage -Path (Join-Path $script:Oci 'other-platform') -Destination $dest -Force -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].Exception.Message | Should -Match 'no linux/amd64 image.*arm linux/arm64.*\. Choose one with -Platform \(and -Reference\)\.$'
    }

    It 'refuses a blob whose digest does not match, or that is missing, and leaves nothing behind' {
        if (-not ($script:HaveTools -and $script:Busybox)) { Set-ItResult -Skipped -Because 'python3, zstd, xz or busybox is missing'; return }
        $copy = Join-Path $script:Work 'damaged'
        Copy-Item -Recurse $script:Layout $copy
        $manifest = Get-Content -Raw "$copy/index.json" | ConvertFrom-Json
        $m = $manifest.manifests | Where-Object { $_.annotations.'org.opencontainers.image.ref.name' -eq 'test' }
        $layers = (Get-Content -Raw "$copy/blobs/sha256/$($m.digest.Substring(7))" | ConvertFrom-Json).layers
        $blob = "$copy/blobs/sha256/$($layers[1].digest.Substring(7))"   # the uncompressed layer: flip one byte of its data
        $bytes = [IO.File]::ReadAllBytes($blob); $bytes[2000] = $bytes[2000] -bxor 1; [IO.File]::WriteAllBytes($blob, $bytes)
        $out = Join-Path $script:Work 'out-damaged'
        New-Item -ItemType Directory $out -Force | Out-Null
        New-DaxFsImage -Path $copy -Reference test -Destination "$out/x.daxfs" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DaxFsBuild.DigestMismatch,DaxFs.Commands.NewDaxFsImageCommand'
        $err[0].Exception.Message | Should -Match ([regex]::Escape($layers[1].digest))
        $missing = Join-Path $script:Work 'incomplete'
        Copy-Item -Recurse $script:Layout $missing
        Remove-Item "$missing/blobs/sha256/$($layers[2].digest.Substring(7))"
        New-DaxFsImage -Path $missing -Reference test -Destination "$out/x.daxfs" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'DaxFsBuild.BlobMissing,DaxFs.Commands.NewDaxFsImageCommand'
        $err[0].TargetObject | Should -Be $layers[2].digest
        @(Get-ChildItem -Force $out).Count | Should -Be 0
    }
}
